"""The threshold engine against numbers printed in published protocols.

Each case quotes where its number is printed and asserts our result against that number,
with a tolerance set by the printed rounding. Nothing here is computed by
analysis/thresholds.py or by a copy of its formula.

What could be found (searched November 2026 in the stored copies of web pages, code and
documentation available to this project; no live web access):

- Bio-protocol, protocol exchange entry https://bio-protocol.org/exchange/minidetail?id=9819889&type=30
  (methods of a rat study using Chaplan's up-down method): Stoelting filaments of 0.4, 0.6,
  1, 2, 4, 6, 8, 15 and 26 g, start at 4 g, "δ is the average value of the difference
  between the logarithm of hairs of each force, which is approximately equal to 0.231".

What could not be found, so no worked example from it is here:

- Chaplan et al. 1994 (J Neurosci Methods 53:55-63): full text and appendix not reachable
  (only citations and the NIH PSPP protocol's summary of the method).
- Gonzalez-Cano et al. 2018, Up-Down Reader (Front Pharmacol 9:433): only the abstract and
  first page were reachable; no response pattern with its printed threshold.
- Bonin, Bories & De Koninck 2014, SUDO (Mol Pain 10:26): only the abstract was reachable;
  no printed SUDO result for a given series.
- Christensen et al. 2020 (Eur J Pain 24:783-790): only the accepted manuscript's title
  page was reachable.
- Dixon 1965 (JASA) and Dixon 1980 (Annu Rev Pharmacol Toxicol): not reachable, so neither
  their worked examples nor the printed k table could be consulted.
- GitHub implementations (raqueladaia/vf_updown_analysis, get-a-grep/VonFreyCalculator,
  hxzhai/von-Frey, hxzhai/von_frey_web_app, shaoqiu0116/von_frey) print their own
  program's output, not a paper's worked example, so they are not used as references here.

The series in tests/analysis/test_thresholds.py are therefore built from the published
rules (stepping, six critical responses, Dixon's k), not copied from a publication.
"""

import pytest

from analysis.thresholds import STOELTING_20, mean_log_step, next_filament, up_down_threshold

# The nine filaments of the Bio-protocol entry, by force, as Stoelting evaluator sizes.
BIO_PROTOCOL_GRAMS = (0.4, 0.6, 1.0, 2.0, 4.0, 6.0, 8.0, 15.0, 26.0)
BIO_PROTOCOL_SET = tuple(f for f in STOELTING_20 if f.grams in BIO_PROTOCOL_GRAMS)
BIO_PROTOCOL_DELTA = 0.231  # printed "approximately equal to 0.231": 3 decimals


def test_bio_protocol_nine_filaments_are_in_the_stoelting_set():
    assert [f.grams for f in BIO_PROTOCOL_SET] == list(BIO_PROTOCOL_GRAMS)


def test_mean_step_of_the_bio_protocol_set_is_the_printed_delta():
    # Printed to three decimals, so the value must round to 0.231 (|error| <= 0.0005).
    assert mean_log_step(BIO_PROTOCOL_SET) == pytest.approx(BIO_PROTOCOL_DELTA, abs=5e-4)


def test_up_down_on_the_bio_protocol_set_uses_the_printed_delta_by_default():
    # The protocol starts at 4 g; any complete series on its set is computed with its
    # delta when the study does not fix one. (Only delta is asserted: the protocol prints
    # no threshold for a given series.)
    start = next(f.size for f in BIO_PROTOCOL_SET if f.grams == 4.0)
    assert next_filament([], BIO_PROTOCOL_SET, start=start) == start
    stimuli, i = [], [f.size for f in BIO_PROTOCOL_SET].index(start)
    for withdrew in (False, True, False, True, False, False):
        stimuli.append((BIO_PROTOCOL_SET[i].size, withdrew))
        i += -1 if withdrew else 1
    result = up_down_threshold(stimuli, BIO_PROTOCOL_SET)
    assert result.status == "ok"
    assert result.delta == pytest.approx(BIO_PROTOCOL_DELTA, abs=5e-4)
