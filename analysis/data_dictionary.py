"""The data dictionary: every column of every export, its unit and meaning.

The text of the `dictionary` export (and the workbook's sheet of that name). Words only:
this module reads nothing from the database but the study's cut-off it is given, and
must not name a column the exports do not write; the column lists themselves are the
file contracts in `analysis.exports`.
"""

from __future__ import annotations

GUARD_NOTE = (
    "a text cell that starts with =, +, -, @, a tab or a carriage return is written with a "
    "leading ' (in the CSV files and the workbook) so that a spreadsheet shows it as text "
    "and does not run it as a formula; the import removes that ' again. Numbers are not "
    "changed: a negative %MPE stays a number"
)


def dictionary_entries(study) -> list[tuple[str, str, str, str]]:
    """(table, column, unit, meaning) for every column of every export, the study's
    cut-off filled in: the rows of the dictionary export."""
    cut = f"{study.ceiling_g:g}"
    entries = [
        ("(every table)", "(text cells)", "", GUARD_NOTE),
        ("stimuli", "animal", "", "animal ID, unique within the study"),
        ("stimuli", "group", "", "treatment group code (empty before allocation)"),
        ("stimuli", "timepoint", "", "timepoint label, e.g. T0"),
        ("stimuli", "day", "study day", "days after day 0 (surgery)"),
        ("stimuli", "paw", "", "right or left hind paw"),
        ("stimuli", "order", "", "1 for the first filament applied in the session"),
        ("stimuli", "filament_size", "evaluator size", "log10(10 x force in mg), as on the handle"),
        ("stimuli", "filament_g", "g", "nominal bending force of the filament"),
        ("stimuli", "response", "0/1", "1 = paw withdrawal (X), 0 = no withdrawal (O)"),
        ("stimuli", "tested_at", "ISO 8601 date-time", "when the filament was applied"),
        ("stimuli", "tester", "", "user who ran the session"),
        ("stimuli", "cage", "", "cage of the animal"),
        ("stimuli", "sex", "", "male or female"),
        ("stimuli", "session", "", "session id in this database (not stable across systems)"),
        ("stimuli", "animal_status", "", "active, excluded, died or euthanised; excluded "
         "animals are left out of the statistics (kept when the file is imported)"),
        ("stimuli", "override", "0/1", "1 = the technician applied another filament than the "
         "one the stepping rule suggested"),
        ("stimuli", "note", "", "the technician's note on this application, e.g. licking"),
        ("stimuli", "recorded_by", "", "user whose tap recorded this application"),
        ("thresholds", "animal", "", "animal ID"),
        ("thresholds", "group", "", "treatment group code"),
        ("thresholds", "timepoint", "", "timepoint label"),
        ("thresholds", "day", "study day", "days after day 0"),
        ("thresholds", "method", "", "threshold method: target_force (lowest withdrawal; "
         "older files say first_response), up_down (Chaplan 50 %), sudo, ascending (ascending "
         "method of limits: force of the first filament, lowest first, reaching the study's "
         "withdrawals needed out of N applications) or percent_response (every filament in "
         "use applied N times: force of the lowest filament reaching the withdrawals needed "
         "of N)"),
        ("thresholds", "threshold_g", "g", f"withdrawal threshold; {cut} g = cut-off"),
        ("thresholds", "status", "", "ok, cutoff_high (no withdrawal up to the top filament: "
         "cut-off given, or the top filament's force when the filaments stop below the "
         "cut-off), cutoff_low (withdrawal at the lowest filament; ascending and percent "
         "response: the criterion met at the lowest filament in use), incomplete"),
        ("thresholds", "pattern", "X/O", "the series used: X = withdrawal, O = none"),
        ("thresholds", "pct_mpe", "%", f"(threshold - baseline) / ({cut} - baseline) x 100, "
         "baseline = the animal's own baseline-timepoint threshold on the same paw"),
        ("thresholds", "paw", "", "right or left hind paw"),
        ("thresholds", "n_stimuli", "", "filament applications used for the threshold"),
        ("thresholds", "source", "", "stimuli (computed from the raw responses) or "
         "legacy_thresholds (imported from a spreadsheet without the responses)"),
        ("thresholds", "reason", "", "why the status is not ok, or where an imported value "
         "came from"),
        ("thresholds", "mpe_reason", "", "why pct_mpe is empty (no baseline threshold, baseline "
         f"at the {cut} g cut-off, no threshold at this timepoint); empty when it has a value"),
        ("summary", "group", "", "treatment group code"),
        ("summary", "timepoint", "", "timepoint label"),
        ("summary", "day", "study day", "days after day 0"),
        ("summary", "n", "animals", "animals with a threshold"),
        ("summary", "mean", "g", "mean threshold"),
        ("summary", "sd", "g", "standard deviation (n - 1)"),
        ("summary", "sem", "g", "standard error of the mean, SD / sqrt(n)"),
        ("summary", "median", "g", "median threshold"),
        ("summary", "q1", "g", "first quartile (R quantile type 7)"),
        ("summary", "q3", "g", "third quartile (R quantile type 7)"),
        ("summary", "mpe_mean", "%", "mean %MPE"),
        ("summary", "mpe_sem", "%", "SEM of %MPE"),
        ("summary", "n_legacy", "animals", "of n, thresholds imported without stimuli "
         "(legacy_thresholds)"),
        ("summary", "n_at_cutoff", "animals", f"of n, animals whose threshold is the {cut} g "
         "cut-off (no withdrawal up to it, status cutoff_high, or a target force at the "
         "cut-off filament): their values are bounds, so the mean, SD, SEM and any CI of "
         "the row are bounded by the cut-off (all n at the cut-off: mean = cut-off, SD 0)"),
        ("summary", "n_at_lowest", "animals", "of n, animals that withdrew at the lowest "
         "filament (status cutoff_low): their threshold is at or below its force, so the "
         "row's mean and CI are bounded below by it"),
        ("stats", "test", "", "friedman, nemenyi_friedman, demsar_friedman (each "
         "timepoint vs baseline), siegel_friedman (chosen pairs), wilcoxon, "
         "rm_anova(_gg/_hf), mauchly, mixed_anova(_gg/_hf), kruskal, nemenyi_kruskal, "
         "dunn_kruskal, dunn_vs_control (each group vs control), mann_whitney, auc_*, "
         "mixed_model, emm (the family's comparisons from the mixed model's estimated "
         "marginal means) (docs/statistics.md)"),
        ("stats", "group", "", "set for tests within one group across timepoints"),
        ("stats", "timepoint", "", "set for tests between groups at one timepoint"),
        ("stats", "a", "", "pairwise rows: the first of the two compared (or the ANOVA effect)"),
        ("stats", "b", "", "pairwise rows: the reference (baseline timepoint or control group)"),
        ("stats", "statistic", "", "test statistic (chi-squared, q, z, F, V, W)"),
        ("stats", "df", "", "degrees of freedom (numerator for F)"),
        ("stats", "p", "", "p-value"),
        ("stats", "p_adj", "", "p-value to compare with alpha (adjusted where the test is)"),
        ("stats", "n", "animals", "animals in the test"),
        ("stats", "note", "", "caveats: ties, all equal, animals dropped or kept; 'includes "
         "N imported thresholds without stimuli (legacy)' when the test took in "
         "legacy_thresholds values"),
        ("stats", "sentence", "", "the result as a sentence"),
        ("stats", "df2", "", "denominator degrees of freedom of F"),
        ("stats", "epsilon", "", "Greenhouse-Geisser or Huynh-Feldt epsilon"),
        ("stats", "role", "", "vs baseline, vs first treated, chosen pair, vs control"),
        ("stats", "dropped", "", "animals left out for a missing timepoint"),
        ("stats", "outcome", "", "threshold_g or pct_mpe: which values were tested"),
        ("stats", "family", "", "the study's comparison family this pairwise row belongs to: "
         "all_pairs, vs_control (each group vs control at each timepoint), vs_baseline "
         "(each timepoint vs baseline within each group) or pairs (the chosen timepoint "
         "pairs only); empty for omnibus tests, the mixed model, and the rank post-hocs "
         "when the study tests its comparisons by the mixed model (emm rows)"),
        ("stats", "estimate", "g or %", "pairwise rows: the difference a - b in the tested "
         "values' unit (estimate_name says which estimate)"),
        ("stats", "ci_low", "g or %", "lower limit of the 95 % confidence interval of "
         "estimate (not adjusted for multiple comparisons); empty where the samples are "
         "too small to reach 95 %"),
        ("stats", "ci_high", "g or %", "upper limit of that 95 % confidence interval"),
        ("stats", "estimate_name", "", "what estimate is: 'Hodges-Lehmann difference' "
         "(median of all differences between the two groups; R wilcox.test(a, b, "
         "conf.int = TRUE)) or 'Hodges-Lehmann paired difference' (median of the Walsh "
         "averages of each animal's a - b; R wilcox.test(a, b, paired = TRUE, "
         "conf.int = TRUE)) for rank tests; 'difference of estimated marginal means' "
         "(R emmeans after the mixed model, interval adjusted as its p) for emm rows"),
        ("auc", "animal", "", "animal ID"),
        ("auc", "group", "", "treatment group code"),
        ("auc", "outcome", "", "threshold_g or pct_mpe: the values under the curve"),
        ("auc", "auc", "g·day or %·day", "area under the animal's time course, trapezoid rule "
         "over study days from from_day to to_day; empty when the animal misses a timepoint"),
        ("auc", "unit", "", "g·day (thresholds) or %·day (%MPE)"),
        ("auc", "from_timepoint", "", "first timepoint with data in the study"),
        ("auc", "to_timepoint", "", "last timepoint with data in the study"),
        ("auc", "from_day", "study day", "day of from_timepoint"),
        ("auc", "to_day", "study day", "day of to_timepoint"),
        ("auc", "complete", "true/false", "the animal has a value at every timepoint of the "
         "span, so it has an AUC and is in the auc_* tests of the stats table"),
        ("prism", "(block)", "", "one Prism grouped table per outcome (threshold g, %MPE): a "
         "title line and a blank line, then the table to copy: a row of group titles (each "
         "spanning one subcolumn per animal; smaller groups end in empty subcolumns), then "
         "one row per timepoint, titled in the first column; after a blank line, the days "
         "of the rows and the animal of each subcolumn. Target forces as on the filament "
         "set, computed thresholds to 3 significant figures, %MPE to 0.1"),
        ("dictionary", "table", "", "export the column belongs to"),
        ("dictionary", "column", "", "column name"),
        ("dictionary", "unit", "", "unit of the values"),
        ("dictionary", "meaning", "", "what the column holds"),
        ("doses", "animal", "", "animal ID"),
        ("doses", "group", "", "treatment group code"),
        ("doses", "study_day", "study day", "planned day of the dose"),
        ("doses", "scheduled_date", "ISO date", "planned date"),
        ("doses", "planned_dose_mg_kg", "mg/kg", "the group's dose"),
        ("doses", "dose_mg_kg", "mg/kg", "dose recorded for this administration"),
        ("doses", "volume_ml", "ml", "volume injected"),
        ("doses", "route", "", "i.p., s.c., p.o., i.v."),
        ("doses", "status", "", "scheduled, given, missed, refused, voided"),
        ("doses", "given_at", "ISO 8601 date-time", "when it was given"),
        ("doses", "given_by", "", "user who gave it"),
        ("doses", "reason", "", "why a dose was missed, refused or voided"),
        ("weights", "animal", "", "animal ID"),
        ("weights", "group", "", "treatment group code"),
        ("weights", "date", "ISO date", "date weighed"),
        ("weights", "day", "study day", "days after day 0"),
        ("weights", "grams", "g", "body weight"),
        ("observations", "animal", "", "animal ID"),
        ("observations", "group", "", "treatment group code"),
        ("observations", "date", "ISO date", "date observed"),
        ("observations", "day", "study day", "days after day 0"),
        ("observations", "kind", "", "adverse_event, clinical_sign or note"),
        ("observations", "term", "", "what was observed, e.g. hematuria"),
        ("observations", "severity", "", "mild, moderate, severe (empty if not graded)"),
        ("observations", "notes", "", "free text"),
        ("audit_log", "when", "ISO 8601 date-time", "when the change was saved"),
        ("audit_log", "model", "", "kind of record (Stimulus, TestSession, Animal, ...)"),
        ("audit_log", "object_id", "", "record id in this database"),
        ("audit_log", "action", "", "created, changed or deleted"),
        ("audit_log", "user", "", "who made the change"),
        ("audit_log", "reason", "", "reason given (void reason, import file, sign-off)"),
        ("audit_log", "record", "", "the record's fields after the change"),
        ("taps_all", "animal", "", "animal ID"),
        ("taps_all", "group", "", "treatment group code (empty before allocation)"),
        ("taps_all", "timepoint", "", "timepoint label"),
        ("taps_all", "day", "study day", "days after day 0"),
        ("taps_all", "paw", "", "right or left hind paw"),
        ("taps_all", "session", "", "session id in this database; a voided session and the "
         "one that replaced it have different ids"),
        ("taps_all", "order", "", "position in the session, undone and voided taps counted"),
        ("taps_all", "filament_size", "evaluator size", "filament applied"),
        ("taps_all", "filament_g", "g", "nominal bending force of the filament"),
        ("taps_all", "response", "0/1", "1 = paw withdrawal, 0 = no withdrawal"),
        ("taps_all", "override", "0/1", "1 = another filament than the suggested one"),
        ("taps_all", "note", "", "the technician's note on this application"),
        ("taps_all", "recorded_at", "ISO 8601 date-time", "when the tap was stored"),
        ("taps_all", "recorded_by", "", "user who tapped"),
        ("taps_all", "state", "", "live (in the stimuli table), undone (Undo at the bench), "
         "voided (voided with a reason) or session_voided (its whole session was voided); "
         "only live taps count towards thresholds"),
        ("taps_all", "void_reason", "", "why the tap was voided ('undo' for an Undo)"),
        ("taps_all", "voided_by", "", "user who undid or voided the tap"),
        ("taps_all", "voided_at", "ISO 8601 date-time", "when the tap was undone or voided"),
        ("taps_all", "session_status", "", "in_progress, complete or voided"),
        ("taps_all", "session_void_reason", "", "why the session was voided"),
        ("taps_all", "session_voided_by", "", "user who voided the session"),
        ("taps_all", "session_voided_at", "ISO 8601 date-time", "when the session was voided"),
        ("taps_all", "minutes_after_dose", "min", "minutes from the animal's injection on the "
         "test day to the start of the session; empty when it had none before"),
    ]  # fmt: skip
    return entries
