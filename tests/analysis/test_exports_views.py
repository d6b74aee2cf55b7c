"""Export, import and ARRIVE pages: who gets in, what they get, what changes."""

import io
import os
import re
import time
import zipfile

import pytest
from django.core.management import call_command
from django.http import StreamingHttpResponse
from django.urls import reverse

from animals.models import Animal
from labstudy.services import unblind_study
from sessions.models import Stimulus, TestSession
from tests.conftest import PASSWORD
from tests.worlds import base_rows, counts, to_csv


@pytest.fixture(autouse=True)
def upload_dir(tmp_path, settings):
    """Previewed uploads wait in a private folder; keep the tests' out of /tmp."""
    settings.LABSTUDY_UPLOAD_DIR = tmp_path / "uploads"
    return tmp_path / "uploads"


def url(name: str, *args) -> str:
    return reverse(name, args=("small", *args))


PAGES = [
    ("export_index", ()),
    ("export_table", ("stimuli",)),
    ("export_package", ()),
    ("export_workbook", ()),
    ("export_methods", ()),
    ("arrive_report", ()),
]


@pytest.mark.parametrize("name, args", PAGES)
@pytest.mark.parametrize(
    "who, status",
    [("technician", 404), ("outsider", 404), ("investigator", 200), ("data_manager", 200)],
)
def test_exports_for_investigators_and_data_managers_only(
    small_study, client_for, name, args, who, status
):
    response = client_for(who).get(url(name, *args))
    assert response.status_code == status


def test_unblinded_technician_still_has_no_exports(small_study, client_for, people):
    unblind_study(study=small_study, user=people["investigator"], password=PASSWORD, reason="done")
    small_study.refresh_from_db()
    assert not small_study.blinded
    assert client_for("technician").get(url("export_index")).status_code == 404


@pytest.mark.parametrize(
    "who, status",
    [("technician", 404), ("outsider", 404), ("investigator", 404), ("data_manager", 200)],
)
def test_import_for_data_managers_only(small_study, client_for, who, status):
    assert client_for(who).get(url("import_upload")).status_code == status
    response = client_for(who).post(url("import_confirm"), {"token": "x"})
    assert response.status_code == (302 if status == 200 else 404)


def test_anonymous_is_sent_to_login(small_study, client):
    response = client.get(url("export_index"))
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_export_page_offers_the_package_and_every_table(small_study, client_for):
    response = client_for("data_manager").get(url("export_index"))
    html = response.content.decode()
    assert "Download publication package" in html
    assert "small_publication_target_force_300g.zip" in html
    for key in ("stimuli", "thresholds", "summary", "stats", "prism", "dictionary", "doses",
                "weights", "observations", "audit_log", "taps_all"):  # fmt: skip
        assert f"small_{key}_target_force_300g.csv" in html
        assert url("export_table", key) in html
    assert "<script>" not in html  # the CSP forbids inline scripts
    assert 'href="/s/small/import/"' in html  # data managers also see the import


def test_export_nav_links(small_study, client_for):
    html = client_for("investigator").get(reverse("study_overview", args=["small"])).content
    assert b'href="/s/small/exports/"' in html and b'href="/s/small/arrive/"' in html
    assert b'href="/s/small/import/"' not in html
    html = client_for("technician").get(reverse("study_overview", args=["small"])).content
    assert b"/exports/" not in html and b"/arrive/" not in html


def test_csv_streams_with_a_named_file(small_study, client_for):
    response = client_for("investigator").get(url("export_table", "thresholds"))
    assert isinstance(response, StreamingHttpResponse)
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"] == (
        'attachment; filename="small_thresholds_target_force_300g.csv"'
    )
    body = b"".join(response.streaming_content).decode()
    assert body.startswith("animal,group,timepoint,day,method,threshold_g,status,pattern,pct_mpe")


def test_method_choice_changes_values_and_file_name(small_study, client_for):
    response = client_for("investigator").get(url("export_table", "thresholds") + "?method=up_down")
    assert "small_thresholds_up_down_300g.csv" in response["Content-Disposition"]
    body = b"".join(response.streaming_content).decode()
    assert body.splitlines()[1].split(",")[4] == "up_down"
    assert client_for("investigator").get(url("export_index") + "?method=nope").status_code == 404
    assert client_for("investigator").get(url("export_table", "secrets")).status_code == 404


def test_package_download_is_a_zip_with_every_file(small_study, client_for):
    response = client_for("data_manager").get(url("export_package"))
    assert response["Content-Disposition"] == (
        'attachment; filename="small_publication_target_force_300g.zip"'
    )
    archive = zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content)))
    names = {n.split("/")[-1] for n in archive.namelist()}
    assert len(names) == 15
    assert {
        "README.txt",
        "small_tables_target_force_300g.xlsx",
        "small_taps_all_target_force_300g.csv",
    } <= names


def test_methods_download(small_study, client_for):
    response = client_for("investigator").get(url("export_methods"))
    assert "small_methods_target_force_300g.txt" in response["Content-Disposition"]
    assert "Friedman" in response.content.decode()


# ----------------------------------------------------------------------------- import


def test_upload_preview_then_confirm(small_study, client_for, upload_dir):
    client = client_for("data_manager")
    # new animals at a new timepoint of the existing study
    rows = [[f"N{r[0]}", *r[1:2], "T3", "28", *r[4:]] for r in base_rows()]
    upload = io.BytesIO(to_csv(rows))
    upload.name = "old-rats.csv"
    before = counts()
    preview = client.post(url("import_upload"), {"file": upload})
    html = preview.content.decode()
    assert preview.status_code == 200
    assert "The file is valid. Nothing has been written yet." in html
    assert '<td id="preview-stimuli">21</td>' in html
    assert "NA1, NA2" in html and "T3" in html
    assert counts() == before
    token = preview.context["token"]
    done = client.post(url("import_confirm"), {"token": token})
    assert done.status_code == 302 and done["Location"] == url("export_index")
    assert Stimulus.objects.filter(session__animal__code__in=["NA1", "NA2"]).count() == 21
    assert Animal.objects.get(study=small_study, code="NA2").group.code == "K10"
    assert not any(upload_dir.iterdir())  # the stored upload is gone
    # the same upload cannot be imported twice
    again = client.post(url("import_confirm"), {"token": token}, follow=True)
    assert "expired or was already imported" in again.content.decode()
    assert Stimulus.objects.filter(session__animal__code__in=["NA1", "NA2"]).count() == 21


def test_upload_with_analysis_settings_sets_them_on_confirm(small_study, client_for):
    client = client_for("data_manager")
    rows = [[f"N{r[0]}", *r[1:2], "T3", "28", *r[4:]] for r in base_rows()]
    upload = io.BytesIO(to_csv(rows))
    upload.name = "old-rats.csv"
    options = {"alpha": "0.01", "posthoc": "dunn_holm", "pairs": "T3-T1"}
    preview = client.post(url("import_upload"), {"file": upload, **options})
    html = preview.content.decode()
    assert "analysis settings of the study: alpha 0.01, between-group post-hoc dunn_holm, " in html
    small_study.refresh_from_db()
    assert (small_study.alpha, small_study.posthoc, small_study.comparison_pairs) == (
        0.05,
        "nemenyi",
        "",
    )
    client.post(url("import_confirm"), {"token": preview.context["token"]})
    small_study.refresh_from_db()
    assert (small_study.alpha, small_study.posthoc, small_study.comparison_pairs) == (
        0.01,
        "dunn_holm",
        "T3-T1",
    )
    assert small_study.history.first().history_change_reason == (
        "analysis settings given with the import of old-rats.csv"
    )


def test_upload_with_a_pair_not_in_the_file_or_a_running_study(small_study, client_for):
    client = client_for("data_manager")
    rows = [[f"N{r[0]}", *r[1:2], "T3", "28", *r[4:]] for r in base_rows()]
    upload = io.BytesIO(to_csv(rows))
    upload.name = "old-rats.csv"
    before = counts()
    response = client.post(url("import_upload"), {"file": upload, "pairs": "T9-T0"})
    html = response.content.decode()
    assert "file: pair T9-T0: timepoint T9 is not in the file" in html
    assert "Confirm import" not in html
    small_study.status = "running"
    small_study.save()
    upload.seek(0)
    response = client.post(url("import_upload"), {"file": upload, "alpha": "0.01"})
    assert (
        "file: study &#x27;small&#x27; has alpha 0.05, not 0.01; it is running, so change it "
        "in the study settings, with a reason"
    ) in response.content.decode()
    assert counts() == before


def test_upload_with_errors_shows_them_and_offers_no_confirm(small_study, client_for):
    rows = [[f"N{r[0]}", *r[1:2], "T3", "28", *r[4:]] for r in base_rows()]
    rows[12][6] = "4.32"
    upload = io.BytesIO(to_csv(rows))
    upload.name = "old-rats.csv"
    before = counts()
    response = client_for("data_manager").post(url("import_upload"), {"file": upload})
    html = response.content.decode()
    assert "1 problem: nothing was imported." in html
    assert "line 14, filament_size: unknown filament &#x27;4.32&#x27; (not in Stoelting 20)" in html
    assert "Confirm import" not in html
    assert counts() == before


def test_upload_over_the_size_limit(small_study, client_for, settings):
    settings.LABSTUDY_MAX_UPLOAD_BYTES = 300
    upload = io.BytesIO(to_csv(base_rows()))
    upload.name = "big.csv"
    before = counts()
    response = client_for("data_manager").post(url("import_upload"), {"file": upload})
    html = response.content.decode()
    assert "over the upload limit of 300 bytes" in html
    assert "Confirm import" not in html
    assert counts() == before


def test_confirm_rechecks_the_study(small_study, client_for, people, upload_dir):
    client = client_for("data_manager")
    rows = [[f"N{r[0]}", *r[1:2], "T3", "28", *r[4:]] for r in base_rows()]
    upload = io.BytesIO(to_csv(rows))
    upload.name = "old-rats.csv"
    token = client.post(url("import_upload"), {"file": upload}).context["token"]
    # meanwhile someone records NA1 at T3 on the bench
    from labstudy.models import Timepoint
    from sessions import services

    tp = Timepoint.objects.create(study=small_study, label="T3", day=28, order=4)
    animal = Animal.objects.create(
        study=small_study, code="NA1", group=small_study.groups.get(code="control")
    )
    services.start_session(animal=animal, timepoint=tp, paw="right", user=people["technician"])
    before = counts()
    response = client.post(url("import_confirm"), {"token": token})
    html = response.content.decode()
    assert response.status_code == 200
    assert "NA1 already has a T3 session (right paw) in this study" in html
    assert counts() == before
    assert TestSession.objects.filter(animal__code="NA2").count() == 0
    assert "Confirm import" not in html
    assert not any(upload_dir.iterdir())


def _left_over(upload_dir, name: str, minutes_ago: float):
    """An upload someone previewed `minutes_ago` and never confirmed."""
    upload_dir.mkdir(parents=True, exist_ok=True)
    path = upload_dir / f"{name}.csv"
    path.write_bytes(b"animal,group\n")
    stamp = time.time() - minutes_ago * 60
    os.utime(path, (stamp, stamp))
    return path


def _new_upload() -> io.BytesIO:
    rows = [[f"N{r[0]}", *r[1:2], "T3", "28", *r[4:]] for r in base_rows()]
    upload = io.BytesIO(to_csv(rows))
    upload.name = "old-rats.csv"
    return upload


def test_the_next_upload_removes_unconfirmed_uploads_older_than_an_hour(
    small_study, client_for, upload_dir
):
    stale = _left_over(upload_dir, "stale", minutes_ago=61)
    recent = _left_over(upload_dir, "recent", minutes_ago=59)
    preview = client_for("data_manager").post(url("import_upload"), {"file": _new_upload()})
    assert preview.status_code == 200
    assert not stale.exists()
    assert recent.exists()
    assert (upload_dir / f"{preview.context['token']}.csv").exists()  # the new one waits


def test_purge_uploads_removes_unconfirmed_uploads_older_than_an_hour(upload_dir):
    stale = _left_over(upload_dir, "stale", minutes_ago=61)
    recent = _left_over(upload_dir, "recent", minutes_ago=59)
    out = io.StringIO()
    call_command("purge_uploads", stdout=out)
    assert not stale.exists()
    assert recent.exists()
    assert out.getvalue().strip() == "Removed 1 unconfirmed upload older than 1 hour."


def test_the_preview_says_when_it_expires(small_study, client_for):
    preview = client_for("data_manager").post(url("import_upload"), {"file": _new_upload()})
    html = preview.content.decode()
    assert "This preview expires in 1 hour" in html
    assert "Confirm import" in html


def test_confirming_an_expired_upload_says_so_and_writes_nothing(
    small_study, client_for, upload_dir
):
    client = client_for("data_manager")
    token = client.post(url("import_upload"), {"file": _new_upload()}).context["token"]
    _left_over(upload_dir, token, minutes_ago=61)  # previewed, then left for over an hour
    before = counts()
    response = client.post(url("import_confirm"), {"token": token}, follow=True)
    html = response.content.decode()
    assert response.redirect_chain[-1][0] == url("import_upload")
    assert "This upload expired (a preview lasts one hour); upload the file again." in html
    assert counts() == before
    assert not Animal.objects.filter(study=small_study, code="NA1").exists()
    assert not any(upload_dir.iterdir())  # and the file is gone


# ----------------------------------------------------------------------------- ARRIVE


def test_arrive_report_fills_in_what_the_study_records(small_study, client_for):
    response = client_for("investigator").get(url("arrive_report"))
    html = response.content.decode()
    for n, title in enumerate(
        [
            "Study design",
            "Sample size",
            "Inclusion and exclusion criteria",
            "Randomisation",
            "Blinding",
            "Outcome measures",
            "Statistical methods",
            "Experimental animals",
            "Experimental procedures",
            "Results",
        ],  # fmt: skip
        start=1,
    ):
        assert f"{n}. {title}" in html
    assert "4 in total; control n = 2, K10 n = 2" in html
    assert "Still to write" in html
    assert "How the sample size was decided" in html
    assert "coded solution letters (A, B)" in html
    assert "hematuria" in html
    assert "20.5 ± 5.5" in html  # control T0 threshold mean ± SEM
    assert "@media print" in html
    assert "<script>" not in html
    report = response.context["report"]
    assert report.to_write_count >= 8


def test_arrive_report_lists_exclusions_with_reasons(small_study, client_for):
    import datetime as dt

    animal = small_study.animals.get(code="B2")
    animal.status = Animal.Status.EXCLUDED
    animal.status_date = dt.date(2026, 9, 10)
    animal.status_reason = "autotomy of the injured paw"
    animal.save()
    html = client_for("data_manager").get(url("arrive_report")).content.decode()
    assert "autotomy of the injured paw" in html


# ----------------------------------------------------------------------------- import choices


def _xlsx(rows: list[list[str]]) -> io.BytesIO:
    from openpyxl import Workbook

    book = Workbook()
    book.active.title = "von Frey"
    book.active.append(["animal", "group", "timepoint", "day", "paw", "order", "filament_size",
                        "response"])  # fmt: skip
    for a, g, tp, day, paw, order, size, r in rows:
        book.active.append([a, g, tp, int(day), paw, int(order), float(size), int(r)])
    out = io.BytesIO()
    book.save(out)
    out.seek(0)
    out.name = "lab-sheet.xlsx"
    return out


def _visible_text(html: str) -> str:
    import re

    html = re.sub(r"<(script|style)\b.*?</\1>", "", html, flags=re.S)
    return re.sub(r"<[^>]+>", " ", html)


@pytest.fixture
def empty_study(people):
    import datetime as dt

    from labstudy import services

    return services.create_study(
        template_key="blank",
        slug="empty",
        title="Empty study",
        day0_date=dt.date(2026, 9, 1),
        user=people["data_manager"],
        first_day=0,
        last_day=28,
    )


def test_excel_upload_lets_the_data_manager_choose_control_baseline_and_describe_groups(
    empty_study, client_for
):
    client = client_for("data_manager")
    rows = [["S1" if r[1] == "control" else r[0], "sham" if r[1] == "control" else r[1], *r[2:]]
            for r in base_rows()]  # fmt: skip
    rows += [[a, g, "T1", "14", *rest] for a, g, _tp, _day, *rest in rows]
    preview = client.post(reverse("import_upload", args=["empty"]), {"file": _xlsx(rows)})
    html = preview.content.decode()
    assert "The file is valid. Nothing has been written yet." in html
    assert "Excel workbook (.xlsx), sheet &#x27;von Frey&#x27;" in html
    # offered: the file's groups (sham preselected by its name) and timepoints
    assert '<option value="sham" selected>sham</option>' in html
    assert '<option value="K10" >K10</option>' in html
    assert '<option value="T0" selected>T0</option>' in html
    assert 'name="group-0-route"' in html and ">not recorded</option>" in html
    assert not re.search(r"(^|\s)--[a-z]", _visible_text(html)), "a command-line flag on a page"
    token = preview.context["token"]
    choices = {
        "token": token,
        "control": "K10",
        "baseline": "T1",
        "group-1-name": "Ketamine 10 mg/kg", "group-1-drug": "ketamine",
        "group-1-dose_mg_kg": "10", "group-1-route": "i.p.", "group-1-vehicle": "saline",
        "group-1-colour": "#d7301f",
        "group-0-name": "Sham", "group-0-colour": "#4d4d4d",
    }  # fmt: skip
    # the preselected control's fields come first
    assert [g["code"] for g in preview.context["groups"]] == ["sham", "K10"]
    checked = client.post(reverse("import_confirm", args=["empty"]), {**choices, "action": "check"})
    html = checked.content.decode()
    assert '<option value="K10" selected>K10</option>' in html
    assert '<option value="T1" selected>T1</option>' in html
    assert not empty_study.groups.exists()  # checking writes nothing
    done = client.post(reverse("import_confirm", args=["empty"]), {**choices, "action": "confirm"})
    assert done.status_code == 302
    groups = {g.code: g for g in empty_study.groups.all()}
    assert [c for c, g in groups.items() if g.is_control] == ["K10"]
    assert (groups["K10"].drug, groups["K10"].route, groups["K10"].vehicle) == (
        "ketamine", "i.p.", "saline",
    )  # fmt: skip
    assert (groups["sham"].name, groups["sham"].route, groups["sham"].vehicle) == ("Sham", "", "")
    assert empty_study.timepoints.get(is_baseline=True).label == "T1"


def test_a_bad_choice_keeps_the_upload_for_correction(empty_study, client_for):
    client = client_for("data_manager")
    preview = client.post(reverse("import_upload", args=["empty"]), {"file": _xlsx(base_rows())})
    token = preview.context["token"]
    response = client.post(
        reverse("import_confirm", args=["empty"]),
        {"token": token, "control": "control", "group-1-dose_mg_kg": "lots", "action": "confirm"},
    )
    assert "group K10: dose &#x27;lots&#x27; is not a dose in mg/kg" in response.content.decode()
    assert not empty_study.groups.exists()
    fixed = client.post(
        reverse("import_confirm", args=["empty"]),
        {"token": token, "control": "control", "group-1-dose_mg_kg": "10", "action": "confirm"},
    )
    assert fixed.status_code == 302
    assert str(empty_study.groups.get(code="K10").dose_mg_kg) == "10.000"
