"""``python -m qiskit_qattn.cli``."""

from . import main

raise SystemExit(main())
