"""Coded solution letters are drawn per study, so a letter does not say which group it is."""

import datetime as dt

import pytest
from django.urls import reverse

from labstudy import services
from labstudy.models import Membership, Role


def _new_study(people, slug: str, **fields):
    return services.create_study(
        template_key="psnl-vf-3x8",
        slug=slug,
        title=slug,
        day0_date=dt.date(2026, 9, 1),
        user=people["data_manager"],
        **fields,
    )


def _coding(study) -> dict[str, str]:
    return dict(study.groups.values_list("code", "coded_letter"))


@pytest.mark.django_db
def test_the_control_is_not_always_solution_a(people):
    codings = [_new_study(people, f"s{seed}", letter_seed=seed) for seed in range(8)]
    control_letters = {_coding(study)["control"] for study in codings}
    assert len(control_letters) > 1, control_letters
    for study in codings:
        assert sorted(_coding(study).values()) == ["A", "B", "C"]


@pytest.mark.django_db
def test_the_same_seed_gives_the_same_letters_and_the_seed_is_stored(people):
    first = _new_study(people, "first", letter_seed=123456)
    again = _new_study(people, "again", letter_seed=123456)
    assert first.letter_seed == again.letter_seed == 123456
    assert _coding(first) == _coding(again)
    # Re-derivable from what the database holds: the study's stored seed.
    template_order = ["control", "K5", "K10"]
    letters = services.solution_letters(seed=first.letter_seed, count=3)
    assert dict(zip(template_order, letters, strict=True)) == _coding(first)


@pytest.mark.django_db
def test_without_a_seed_each_study_draws_one_and_records_it(people):
    studies = [_new_study(people, f"r{n}") for n in range(3)]
    assert len({study.letter_seed for study in studies}) == 3
    for study in studies:
        study.refresh_from_db()
        letters = services.solution_letters(seed=study.letter_seed, count=3)
        assert list(study.groups.order_by("order").values_list("coded_letter", flat=True)) == (
            letters
        )


@pytest.mark.django_db
def test_blinded_technician_sees_the_solutions_in_letter_order(client_for, people):
    for seed in range(4):  # several codings, so dose order and letter order differ in some
        study = _new_study(people, f"t{seed}", letter_seed=seed)
        Membership.objects.create(user=people[Role.TECHNICIAN], study=study, role=Role.TECHNICIAN)
        html = client_for("technician").get(reverse("study_overview", args=[study.slug]))
        html = html.content.decode()
        positions = [html.index(f"<td>Solution {letter}</td>") for letter in "ABC"]
        assert positions == sorted(positions)
