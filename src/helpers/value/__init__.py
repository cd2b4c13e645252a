"""Value of members: repeat purchase (BG/NBD + Gamma-Gamma) and renewal of memberships (sBG).

Modules: ``bgnbd`` (repeat-purchase model), ``gamma_gamma`` (spend per purchase), ``sbg``
(renewal model), ``repeat`` (:func:`repeat_purchase` on a community's purchases), ``renewal``
(:func:`renewal` on the memberships table). All fits are closed-form maximum likelihood on scipy.
"""

from . import bgnbd, gamma_gamma, sbg
from .renewal import Renewal, renewal, renewal_chains
from .repeat import MEMBER_COLUMNS, RepeatPurchase, repeat_purchase, rfm_summary

__all__ = ["bgnbd", "gamma_gamma", "sbg", "Renewal", "renewal", "renewal_chains",
           "RepeatPurchase", "repeat_purchase", "rfm_summary", "MEMBER_COLUMNS"]
