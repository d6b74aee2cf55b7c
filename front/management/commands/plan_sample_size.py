"""`plan_sample_size SLUG --effect E --unit g|mpe|ratio --timepoint T ...`: the planning
page from the command line. Prints n per group and the methods sentence, and keeps the
plan like the page does (the ARRIVE report quotes the latest)."""

from django.core.management.base import BaseCommand, CommandError

from front import planning
from labstudy.models import Study

OPTION = {  # PlanError.field -> the option that carries it
    "effect": "--effect",
    "unit": "--unit",
    "timepoint": "--timepoint",
    "alpha": "--alpha",
    "power": "--power",
    "loss": "--loss",
    "seed": "--seed",
    "study": "SLUG",
    "analysis": "SLUG",
}


class Command(BaseCommand):
    help = (
        "Plan the next study's sample size from this study's data: simulated power of the "
        "study's own analysis (with its cut-off) for an effect at one timepoint, and n per "
        "group inflated for the animals expected to be lost."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("slug", help="study short name")
        parser.add_argument("--effect", required=True, type=float, help="the effect to detect")
        parser.add_argument(
            "--unit", default="g", choices=["g", "mpe", "ratio"],
            help="g: grams above control; mpe: %%MPE; ratio: treated mean / control mean",
        )  # fmt: skip
        parser.add_argument("--timepoint", required=True, help="timepoint label, e.g. T3")
        parser.add_argument("--alpha", type=float, default=None, help="default: the study's")
        parser.add_argument("--power", type=float, default=0.8)
        parser.add_argument(
            "--loss", type=float, default=None,
            help="expected share of animals lost (default: this study's share out of it)",
        )  # fmt: skip
        parser.add_argument("--seed", type=int, default=None, help="default: a new random seed")

    def handle(self, *args, **options) -> None:
        study = Study.objects.select_related("filament_set").filter(slug=options["slug"]).first()
        if study is None:
            raise CommandError(f"no study '{options['slug']}'")
        alpha = options["alpha"] if options["alpha"] is not None else float(study.alpha)
        try:
            plan = planning.start_plan(
                study=study,
                user=None,
                timepoint=options["timepoint"],
                effect=options["effect"],
                unit=options["unit"],
                alpha=alpha,
                power=options["power"],
                loss=options["loss"],
                seed=options["seed"],
                background=False,
            )
        except planning.PlanError as error:
            raise CommandError(f"{OPTION.get(error.field, error.field)}: {error.message}") from None
        if plan.n_per_group is None:
            self.stdout.write(f"n per group: more than {planning.planning.MAX_N}")
        else:
            self.stdout.write(
                f"n per group: {plan.n_with_losses} (analysed {plan.n_per_group}, "
                f"simulated power {plan.result['power_at_n']['power']:.3f})"
            )
        for check in plan.result["closed_forms"]:
            n = check["n"] if check["n"] is not None else "-"
            self.stdout.write(f"closed form, {check['name']}: n = {n}")
        self.stdout.write(plan.sentence)
