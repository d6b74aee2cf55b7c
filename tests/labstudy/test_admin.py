"""Every admin list page works on the demo study, and recorded data cannot be deleted."""

import pytest
from django.contrib import admin
from django.urls import reverse

from labstudy.demo import load_demo_study

RECORDED = {
    "animals.animal",
    "animals.surgery",
    "animals.bodyweight",
    "animals.doseadministration",
    "animals.observation",
    "vf_sessions.testsession",
    "vf_sessions.stimulus",
}


@pytest.fixture
def admin_client_with_demo(client, django_user_model):
    load_demo_study()
    client.force_login(django_user_model.objects.get(username="admin"))
    return client


def _models():
    return sorted(admin.site._registry, key=lambda m: m._meta.label_lower)


@pytest.mark.django_db
@pytest.mark.parametrize("model", _models(), ids=lambda m: m._meta.label_lower)
def test_every_admin_list_and_change_page_renders(admin_client_with_demo, model):
    opts = model._meta
    url = reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist")
    response = admin_client_with_demo.get(url)
    assert response.status_code == 200
    count = model.objects.count()
    assert str(count) in response.content.decode()
    obj = model.objects.order_by("pk").first()
    if obj is not None:
        change = reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[obj.pk])
        assert admin_client_with_demo.get(change).status_code == 200


@pytest.mark.django_db
@pytest.mark.parametrize("label", sorted(RECORDED))
def test_recorded_data_cannot_be_deleted_in_admin(admin_client_with_demo, label):
    model = next(m for m in admin.site._registry if m._meta.label_lower == label)
    obj = model.objects.order_by("pk").first()
    opts = model._meta
    url = reverse(f"admin:{opts.app_label}_{opts.model_name}_delete", args=[obj.pk])
    response = admin_client_with_demo.post(url, {"post": "yes"})
    assert response.status_code == 403
    assert model.objects.filter(pk=obj.pk).exists()


@pytest.mark.django_db
def test_admin_list_filters_by_study(admin_client_with_demo):
    url = reverse("admin:vf_sessions_stimulus_changelist")
    response = admin_client_with_demo.get(url, {"withdrew__exact": "1"})
    assert response.status_code == 200
    assert "By withdrew" in response.content.decode() or "withdrew" in response.content.decode()
