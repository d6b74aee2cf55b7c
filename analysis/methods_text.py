"""The methods paragraph of a study's publication, with the study's numbers filled in.

Words only: the design, reference group, baseline and sessions come from
`analysis.inputs` and the dropped animals from the statistics the stats export holds,
so the paragraph says what the files show. Reads only; it must not compute numbers of
its own or import `analysis.exports` (which re-exports its old names).
"""

from __future__ import annotations

import platform
from importlib import metadata

import pandas as pd

from analysis import frames, thresholds
from analysis.inputs import AnalysisInputs


def data_counts(sessions: pd.DataFrame) -> dict[str, int]:
    """Sessions computed from stimuli, their stimuli, and thresholds imported without
    stimuli, in a session frame (`frames.session_frame`)."""
    legacy = int((sessions["source"] == frames.SOURCE_LEGACY).sum()) if len(sessions) else 0
    return {
        "sessions": int((sessions["source"] == frames.SOURCE_STIMULI).sum())
        if len(sessions)
        else 0,
        "stimuli": int(sessions["n_stimuli"].sum()) if len(sessions) else 0,
        "legacy": legacy,
    }


def software_versions() -> dict[str, str]:
    versions = {"Python": platform.python_version()}
    for name, dist in (
        ("labstudy", None),
        ("Django", "Django"),
        ("pandas", "pandas"),
        ("NumPy", "numpy"),
        ("SciPy", "scipy"),
        ("scikit-posthocs", "scikit-posthocs"),
    ):
        if dist is None:
            versions[name] = _labstudy_version()
            continue
        try:
            versions[name] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            versions[name] = "?"
    return versions


def _labstudy_version() -> str:
    import tomllib
    from pathlib import Path

    try:
        path = Path(__file__).resolve().parents[1] / "pyproject.toml"
        return tomllib.loads(path.read_text())["project"]["version"]
    except (OSError, KeyError, ValueError):
        return "?"


def _join(items: list[str]) -> str:
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]


def method_sentence(study, method: str, filaments) -> str:
    cut = f"{study.cutoff_g:g}"
    if method == "first_response":
        ceiling = thresholds.effective_cutoff_g(filaments, cutoff_g=study.cutoff_g)
        off_top = (
            f"the cut-off of {cut} g"
            if ceiling == study.cutoff_g
            else f"the force of the top filament, {ceiling:g} g,"
        )
        return (
            "The withdrawal threshold was the target force: the force of the lowest filament "
            "that elicited a paw withdrawal anywhere in the series (not the first "
            f"withdrawal), or {off_top} when no filament did."
        )
    if method in thresholds.BLOCK_FAMILY:
        return block_method_sentence(study, method, filaments)
    delta = thresholds.mean_log_step(filaments)
    if method == "up_down":
        return (
            "The 50 % withdrawal threshold was calculated as 10^(Xf + k·δ)/10 000 g "
            "(Chaplan et al. 1994), where Xf is the evaluator size of the last filament, k "
            "Dixon's tabulated value for the pattern of responses (Dixon 1980) and δ the mean "
            f"step between filaments ({delta:.3f} log units); the series ended six responses "
            f"after the first change of response. Estimates above {cut} g were set to the "
            "cut-off."
        )
    return (
        "The threshold was estimated by the simplified up-down method (SUDO; Bonin et al. "
        "2014): five stimuli, the threshold read from the fifth filament moved half a step "
        f"down after a withdrawal and up after none (cut-off {cut} g)."
    )


def _times(n: int) -> str:
    return {1: "once", 2: "twice"}.get(n, f"{n} times")


def block_method_sentence(study, method: str, filaments) -> str:
    """The methods sentence of an ascending or percent-response study, with its settings."""
    n, k = study.method_applications, study.method_withdrawals
    sizes = study.method_params["subset"]
    used = [f.grams for f in filaments if sizes is None or f.size in sizes]
    span = f"{len(used)} filaments, {min(used):g}–{max(used):g} g" if used else "the filaments"
    top = thresholds.effective_cutoff_g(
        filaments, cutoff_g=study.cutoff_g, method=method, subset=sizes
    )
    off_top = (
        f"the cut-off of {top:g} g"
        if top == study.cutoff_g
        else f"the force of the top filament, {top:g} g,"
    )
    needed = f"{k} withdrawal{'s' if k != 1 else ''} out of {n}"
    if method == "ascending":
        return (
            f"Filaments ({span}) were applied in ascending order of force, each "
            f"{'once' if n == 1 else f'up to {_times(n)}'}, starting from the lowest; the "
            f"withdrawal threshold was the force of the first filament that elicited {needed} "
            f"applications (ascending method of limits; Deuis et al. 2017), or {off_top} when "
            "none did."
        )
    return (
        f"Each filament ({span}) was applied {_times(n)} in ascending order of force, and "
        "the withdrawal frequency was recorded per filament (percent response method; Deuis "
        f"et al. 2017). The withdrawal threshold was the force of the lowest filament that "
        f"elicited {needed} applications ({100 * k / n:.0f} %), or {off_top} when none did."
    )


def posthoc_sentence(posthoc: str) -> str:
    if posthoc == "dunn_holm":
        return "Dunn's test with Holm correction"
    return (
        "the Nemenyi test with the studentized-range distribution (as "
        "PMCMRplus::kwAllPairsNemenyiTest)"
    )


FAMILY_WORDS = {
    "all_pairs": "every pair of groups at each timepoint and every pair of timepoints "
    "within each group",
    "vs_control": "each group against the control group at each timepoint",
    "vs_baseline": "each timepoint against the baseline within each group",
    "pairs": "only the chosen timepoint pairs within each group",
}


def within_posthoc_sentence(family: str, *, baseline: str | None = None) -> str:
    """The within-group post-hoc test of `family`, or "" where the family has none."""
    if family == "vs_baseline":
        return (
            f"Demsar's many-to-one test of each timepoint against {baseline or 'baseline'} "
            "with Holm correction (as PMCMRplus::frdManyOneDemsarTest)"
        )
    if family == "pairs":
        return (
            "the Friedman-rank z test of the chosen timepoint pairs with Holm correction "
            "over those pairs (the statistic of PMCMRplus::frdAllPairsSiegelTest)"
        )
    if family == "vs_control":
        return ""
    return "the Nemenyi test (as PMCMRplus::frdAllPairsNemenyiTest)"


def between_posthoc_sentence(family: str, posthoc: str, *, control: str | None = None) -> str:
    """The between-group post-hoc test of `family`, or "" where the family has none."""
    if family == "vs_control":
        return (
            f"Dunn's many-to-one test against {control or 'the control group'} with Holm "
            "correction (as PMCMRplus::kwManyOneDunnTest)"
        )
    if family in ("vs_baseline", "pairs"):
        return ""
    return posthoc_sentence(posthoc)


def family_sentence(family: str, pairs=()) -> str:
    """Which comparisons were tested, and the effect size beside each p."""
    words = FAMILY_WORDS.get(family, FAMILY_WORDS["all_pairs"])
    if family == "pairs" and pairs:
        words += " (" + ", ".join(f"{a} vs {b}" for a, b in pairs) + ")"
    return (
        f"The post-hoc comparisons tested {words}. Each comparison is given with the "
        "Hodges–Lehmann estimate of the difference and its 95 % confidence interval (as R's "
        "wilcox.test with conf.int = TRUE; not adjusted for multiple comparisons)."
    )


MODEL_ADJUST = {
    "all_pairs": "Tukey's adjustment within each timepoint and within each group",
    "vs_control": "Dunnett's adjustment (emmeans' dunnettx) within each timepoint",
    "vs_baseline": "Šidák's adjustment within each group",
    "pairs": "Šidák's adjustment within each group",
}


def basis_sentence(basis: str, family: str) -> str:
    """How the marked comparisons were tested, when not by the rank tests."""
    if basis != "model":
        return ""
    return (
        "The marked comparisons were tested as differences of the estimated marginal "
        "means of the group × time linear mixed model (random intercept per animal; as R's "
        "emmeans with Satterthwaite degrees of freedom), with "
        f"{MODEL_ADJUST.get(family, MODEL_ADJUST['all_pairs'])}, each with its adjusted "
        "95 % confidence interval; the rank tests are reported alongside."
    )


def methods_paragraph(inputs: AnalysisInputs, *, statistics: pd.DataFrame) -> str:
    """The statistics-and-methods paragraph with this study's numbers filled in:
    `inputs`' design, reference and sessions, and the animals `statistics` (the stats
    export's table) dropped."""
    study = inputs.study
    fset = study.filament_set
    filaments = frames.filaments_of(study)
    sessions = inputs.sessions
    counts = data_counts(sessions)
    control, baseline = inputs.control, inputs.baseline
    groups = []
    allocated = sessions.drop_duplicates("animal")
    n_by_group = allocated[allocated["group"] != ""].groupby("group")["animal"].nunique()
    for group in inputs.design.groups:
        groups.append(f"{group.name} ({group.code}, n = {int(n_by_group.get(group.code, 0))})")
    tps = [(t.label, t.day) for t in inputs.design.timepoints]
    n_animals = int(sessions["animal"].nunique()) if len(sessions) else 0
    paw = {"right": "right hind paw", "left": "left hind paw", "both": "both hind paws"}[
        study.paw_tested
    ]
    start = next((f for f in filaments if f.size == study.start_filament), None)
    sex = {"male": "male", "female": "female", "mixed": "male and female"}[study.sex]
    species = f"{study.strain} {study.species}".strip()
    parts = [
        f"Mechanical withdrawal thresholds were measured with von Frey filaments ({fset.name}; "
        f"{len(filaments)} filaments, evaluator sizes {filaments[0].size}–{filaments[-1].size}, "
        f"{filaments[0].grams:g}–{filaments[-1].grams:g} g) applied to the plantar surface of "
        f"the {paw}.",
        "Testing started with filament "
        + (f"{start.size} ({start.grams:g} g)" if start else study.start_filament)
        + "; after a withdrawal the next lower filament and after no withdrawal the next "
        "higher one was applied (Dixon's up-down stepping).",
        method_sentence(study, inputs.method, filaments),
    ]
    if baseline:
        parts.append(
            "The maximum possible effect was calculated per animal as %MPE = (post-treatment "
            f"threshold − baseline threshold) / ({study.ceiling_g:g} g − baseline threshold) × "
            f"100, with the animal's own {baseline} threshold as baseline."
        )
    parts.append(
        f"{n_animals} {sex} {species}s were studied"
        + (f" in {len(groups)} groups: {_join(groups)}." if groups else ".")
    )
    if tps:
        listing = _join([f"{label} (day {day})" for label, day in tps])
        parts.append(f"Thresholds were measured at {len(tps)} timepoints: {listing}.")
    parts.append(
        f"{counts['sessions']} test sessions with {counts['stimuli']} filament applications "
        "were analysed."
    )
    if counts["legacy"]:
        parts.append(
            f"{counts['legacy']} thresholds were imported from spreadsheets that did not "
            "record the individual responses; they are flagged 'legacy_thresholds' in the data."
        )
    parts.append("Group values are given as mean ± SEM.")
    alpha = f"{study.alpha:g}"
    family = study.comparison_family
    within = within_posthoc_sentence(family, baseline=baseline)
    between = between_posthoc_sentence(family, study.posthoc, control=control)
    parts.append(
        "Within each group, thresholds were compared across timepoints with the Friedman "
        + (f"test followed, where significant, by {within}, " if within else "test ")
        + "and with repeated-measures ANOVA "
        "(Greenhouse–Geisser and Huynh–Feldt corrections after Mauchly's test of "
        "sphericity). Between groups, each timepoint was tested with the Kruskal–Wallis test"
        + (f" followed, where significant, by {between}" if between else "")
        + (f", comparing each group with {control}." if control and between else ".")
        + " A linear mixed model with a random intercept per animal was fitted as well "
        "(REML, as lme4::lmer; t and F tests with Satterthwaite's degrees of freedom, as "
        "lmerTest), because it keeps animals with a missing timepoint."
    )
    parts.append(family_sentence(family, study.chosen_pairs()))
    if basis_sentence(study.comparison_basis, family):
        parts.append(basis_sentence(study.comparison_basis, family))
    dropped = dropped_animals(statistics)
    if dropped:
        parts.append(
            "Animals left out of the Friedman test and ANOVA for a missing timepoint: "
            f"{', '.join(dropped)}."
        )
    parts.append(f"Differences were considered significant at p < {alpha}.")
    versions = software_versions()
    listing = ", ".join(f"{k} {v}" for k, v in versions.items() if k != "labstudy")
    parts.append(f"Analyses were computed with labstudy {versions['labstudy']} ({listing}).")
    title = f"Methods — {study.title} ({study.slug})"
    body = " ".join(parts)
    return f"{title}\n\n{_wrap(body)}\n"


def dropped_animals(statistics: pd.DataFrame) -> list[str]:
    if statistics.empty or "dropped" not in statistics:
        return []
    names: set[str] = set()
    for text in statistics["dropped"].dropna():
        names.update(a.strip() for a in str(text).split(",") if a.strip())
    return sorted(names)


def _wrap(text: str, width: int = 88) -> str:
    import textwrap

    return "\n".join(textwrap.wrap(text, width=width))
