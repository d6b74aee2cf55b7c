"""Reads that feed the study core's own pages: the set-up's advice on injection volumes.

Study core: it reads studies and their groups only, and must not import the recording apps
(animals, sessions); reads that gather them live in front.selectors.
"""

from dataclasses import dataclass
from decimal import Decimal

from labstudy.models import Study


@dataclass(frozen=True)
class VolumeAdvice:
    """Groups of a blinded study whose injection volumes per kg differ (so the volume drawn
    up tells the solutions apart), and the concentrations that would make them equal."""

    volumes: list[tuple[str, Decimal]]  # (group code, ml/kg) as set up
    target_ml_kg: Decimal
    concentrations: list[tuple[str, Decimal]]  # (drug group code, mg/ml for target_ml_kg)
    example_weight_g: int = 300

    def example_ml(self, ml_kg: Decimal) -> Decimal:
        return (ml_kg * self.example_weight_g / 1000).quantize(Decimal("0.01"))

    @property
    def suggestion(self) -> str:
        """'To give every group 1 ml/kg, make K5 at 5 mg/ml and K10 at 10 mg/ml.'"""
        made = [f"{code} at {mg_ml} mg/ml" for code, mg_ml in self.concentrations]
        text = f"To give every group {self.target_ml_kg} ml/kg"
        if made:
            listed = made[0] if len(made) == 1 else ", ".join(made[:-1]) + " and " + made[-1]
            text += f", make {listed}"
        return text + f"; give a vehicle at {self.target_ml_kg} ml/kg."

    @property
    def examples(self) -> list[tuple[str, Decimal]]:
        """(group code, ml for a rat of example_weight_g) as set up now."""
        return [(code, self.example_ml(ml_kg)) for code, ml_kg in self.volumes]


def _tidy(value: Decimal) -> Decimal:
    """To 0.001, without trailing zeros or exponent: 10, 0.5, 1.667."""
    return Decimal(format(Decimal(value).quantize(Decimal("0.001")).normalize(), "f"))


def volume_advice(study: Study, groups=None) -> VolumeAdvice | None:
    """None unless the study is blinded and its injected groups' volumes per kg differ
    (dose mg/kg / concentration mg/ml for a drug, volume ml/kg for a vehicle).

    The suggested common volume is the vehicle's volume per kg when a vehicle group has
    one, else the most common volume among the groups."""
    if not study.blinded:
        return None
    groups = list(study.groups.all() if groups is None else groups)
    volumes: list[tuple[str, Decimal]] = []
    for group in groups:
        if group.dose_mg_kg and group.concentration_mg_ml:
            volumes.append((group.code, _tidy(group.dose_mg_kg / group.concentration_mg_ml)))
        elif not group.dose_mg_kg and group.volume_ml_kg:
            volumes.append((group.code, _tidy(Decimal(group.volume_ml_kg))))
    if len({ml for _, ml in volumes}) < 2:
        return None
    vehicle = [
        _tidy(Decimal(g.volume_ml_kg)) for g in groups if not g.dose_mg_kg and g.volume_ml_kg
    ]
    counts = [ml for _, ml in volumes]
    target = vehicle[0] if vehicle else max(counts, key=counts.count)
    concentrations = [
        (g.code, _tidy(g.dose_mg_kg / target))
        for g in groups
        if g.dose_mg_kg and g.concentration_mg_ml
    ]
    return VolumeAdvice(volumes=volumes, target_ml_kg=target, concentrations=concentrations)
