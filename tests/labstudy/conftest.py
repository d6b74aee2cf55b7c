"""The demo study for whole-project tests: users in every role and a URL
kwarg for every route parameter."""

import pytest

from animals.models import BodyWeight, DoseAdministration, Observation
from front.demo import DEMO_SLUG
from labstudy.models import Membership, Role, Study
from sessions.models import TestSession


@pytest.fixture
def demo_people_and_urls(demo_study, django_user_model):
    study = Study.objects.get(slug=DEMO_SLUG)
    outsider = django_user_model.objects.create_user("olly", password="x")
    users = {
        "outsider": outsider,
        **{
            role: Membership.objects.get(study=study, role=role).user
            for role in (Role.TECHNICIAN, Role.INVESTIGATOR, Role.DATA_MANAGER)
        },
    }
    session = TestSession.objects.filter(animal__study=study).order_by("pk").first()
    kwargs = {
        "slug": study.slug,
        "animal_id": session.animal_id,
        "animal_pk": session.animal_id,
        "timepoint_pk": session.timepoint_id,
        "paw": session.paw,
        "code": session.animal.code,
        "cage": session.animal.cage,
        "pk": session.pk,
        "label": session.timepoint.label,
        "section": "groups",
        "what": "stimuli",
        "dose_pk": DoseAdministration.objects.filter(animal__study=study).first().pk,
        "weight_pk": BodyWeight.objects.filter(animal__study=study).first().pk,
        "observation_pk": Observation.objects.filter(animal__study=study).first().pk,
    }
    return study, users, kwargs


@pytest.fixture
def practice_world(db):
    """Today's bench practice study (today is T3, T0-T2 recorded) and its technician."""
    from front.practice import load_practice_study

    study = load_practice_study().study
    return study, Membership.objects.get(study=study, role=Role.TECHNICIAN).user
