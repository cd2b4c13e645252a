"""``python -m helpers.synth``: generate a synthetic community (:func:`helpers.synth.main`)."""

from .write import main

raise SystemExit(main())
