"""The array types every layer passes around: vectors and the photo ids they belong to."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

Vectors = npt.NDArray[np.float32]
"""float32 rows, one L2-normalised vector per photo or text (so a dot product is a cosine)."""
Ids = npt.NDArray[np.int64]
"""Photo ids, one per row of the vectors they travel with."""
