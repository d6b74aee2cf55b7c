"""Ready-made study designs a data manager can start from.

Each template is plain data; `labstudy.services.create_study` turns one into rows. Groups
carry no solution letters: create_study draws them per study (fixed letters in dose order
would tell every technician which bottle is the control).
"""

from dataclasses import dataclass, field


@dataclass(frozen=True)
class GroupSpec:
    code: str
    name: str
    drug: str = ""
    dose_mg_kg: float | None = None
    route: str = "i.p."
    vehicle: str = "saline"
    concentration_mg_ml: float | None = None
    volume_ml_kg: float | None = None
    is_control: bool = False
    colour: str = "#1f77b4"
    coded_letter: str = ""


@dataclass(frozen=True)
class PhaseSpec:
    code: str
    name: str
    first_day: int
    last_day: int
    dosed: bool


@dataclass(frozen=True)
class TimepointSpec:
    label: str
    day: int
    is_baseline: bool = False
    description: str = ""


@dataclass(frozen=True)
class StudyTemplate:
    key: str
    name: str
    description: str
    study: dict = field(default_factory=dict)
    groups: tuple[GroupSpec, ...] = ()
    phases: tuple[PhaseSpec, ...] = ()
    timepoints: tuple[TimepointSpec, ...] = ()


# Kim et al. 2022 (Physiol Res, PMID 35275700): see ../shared/DESIGN.md.
PSNL_KETAMINE = StudyTemplate(
    key="psnl-vf-3x8",
    name="PSNL von Frey, 3 groups, 8 weekly timepoints",
    description=(
        "Partial sciatic nerve ligation in male Wistar rats; control, ketamine 5 and "
        "10 mg/kg i.p.; von Frey on the right hind paw on days 7–56 (T0–T7); daily "
        "injections days 7–34 (A), discontinuation days 35–48 (B), readministration "
        "days 49–55 (C)."
    ),
    study={
        "species": "rat",
        "strain": "Wistar",
        "sex": "male",
        "model": "PSNL",
        "paw_tested": "right",
        "threshold_method": "first_response",
        "cutoff_g": 300.0,
        "start_filament": "4.31",
        "blinded": True,
        "first_day": -7,
        "last_day": 56,
        "comparison_pairs": "T7-T4",
    },
    groups=(
        GroupSpec(
            "control",
            "Control (PSNL + saline vehicle)",
            is_control=True,
            drug="",
            route="i.p.",
            vehicle="saline",
            volume_ml_kg=1,
            colour="#4d4d4d",
        ),
        GroupSpec(
            "K5",
            "Ketamine 5 mg/kg",
            drug="ketamine",
            dose_mg_kg=5,
            concentration_mg_ml=5,
            volume_ml_kg=1,
            colour="#2b8cbe",
        ),
        GroupSpec(
            "K10",
            "Ketamine 10 mg/kg",
            drug="ketamine",
            dose_mg_kg=10,
            concentration_mg_ml=10,
            volume_ml_kg=1,
            colour="#d7301f",
        ),
    ),
    phases=(
        PhaseSpec("A", "Daily injections", 7, 34, True),
        PhaseSpec("B", "Discontinuation", 35, 48, False),
        PhaseSpec("C", "Readministration", 49, 55, True),
    ),
    timepoints=(
        TimepointSpec("T0", 7, True, "Post-injury baseline, before the first injection"),
        TimepointSpec("T1", 14, description="1 week after the first injection"),
        TimepointSpec("T2", 21, description="2 weeks after the first injection"),
        TimepointSpec("T3", 28, description="3 weeks after the first injection"),
        TimepointSpec("T4", 35, description="4 weeks after the first injection"),
        TimepointSpec("T5", 42, description="1 week after discontinuation"),
        TimepointSpec("T6", 49, description="2 weeks after discontinuation"),
        TimepointSpec("T7", 56, description="1 week after readministration"),
    ),
)

BLANK = StudyTemplate(key="blank", name="Blank study", description="Start with no groups.")

TEMPLATES = {t.key: t for t in (PSNL_KETAMINE, BLANK)}
