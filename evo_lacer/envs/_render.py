"""Bird's-eye image of the whole ring, centred on controlled vehicle 0, drawn with NumPy.

Vehicle 0 sits at the bottom of the image; the traffic ahead of it runs counter-clockwise
(bottom -> right -> top -> left), so a given image region always means "this far ahead".
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import NDArray

FloatArray = NDArray[np.float64]
ImageArray = NDArray[np.uint8]

#: Speed (m/s) that maps to 255 in the speed channel.
BEV_SPEED_SCALE = 10.0
#: Fraction of the ring ahead of the ego vehicle that counts as "downstream" (probe target and
#: the expert's look-ahead).
DOWNSTREAM_SECTOR = (0.1, 0.4)

OCCUPANCY, SPEED, CONTROLLED = 0, 1, 2


def ring_radius(size: int) -> float:
    """Radius (pixels) of the drawn ring."""
    return size / 2 - 2.0


def pixel_angles(size: int) -> FloatArray:
    """Angle in [0, 2 pi) of each pixel around the image centre, 0 at the ego vehicle, growing
    in the driving direction; ``angle / (2 pi)`` is the fraction of the ring ahead."""
    centre = (size - 1) / 2
    rows, cols = np.mgrid[0:size, 0:size]
    return np.mod(np.arctan2(cols - centre, rows - centre), 2 * math.pi)


class RingRenderer:
    """Draws vehicles as short arcs: occupancy, speed and controlled-vehicle channels."""

    def __init__(self, size: int, controlled: NDArray[np.integer]) -> None:
        self.size = size
        self._controlled = np.asarray(controlled)
        self._centre = (size - 1) / 2
        self._radius = ring_radius(size)
        self._along: dict[tuple[int, float], FloatArray] = {}

    def render(
        self, positions: FloatArray, speeds: FloatArray, ring_length: float,
        vehicle_length: float,
    ) -> ImageArray:
        """The ``(size, size, 3)`` uint8 image of the ring."""
        n = positions.shape[0]
        length_px = vehicle_length / ring_length * 2 * math.pi * self._radius
        k = max(2, math.ceil(length_px) + 1)
        along = self._along.get((k, vehicle_length))
        if along is None:
            along = self._along.setdefault((k, vehicle_length), np.linspace(0, vehicle_length, k))
        rel = np.mod(positions - positions[self._controlled[0]], ring_length)
        theta = (2 * math.pi / ring_length) * (rel[:, None] - along[None, :])
        rows = np.rint(self._centre + self._radius * np.cos(theta)).astype(np.intp)
        cols = np.rint(self._centre + self._radius * np.sin(theta)).astype(np.intp)
        image = np.zeros((self.size, self.size, 3), dtype=np.uint8)
        speed_byte = np.clip(speeds / BEV_SPEED_SCALE * 255.0, 0.0, 255.0).astype(np.uint8)
        image[rows, cols, OCCUPANCY] = 255
        image[rows, cols, SPEED] = np.repeat(speed_byte, k).reshape(n, k)
        ctrl_rows, ctrl_cols = rows[self._controlled], cols[self._controlled]
        image[ctrl_rows, ctrl_cols, CONTROLLED] = 255
        return image


def sector_speed(
    image: ImageArray, angles: FloatArray, start: float, stop: float
) -> float | None:
    """Mean speed (m/s) of the occupied pixels whose angle lies in ``(start, stop)`` radians
    (wrapping past 2 pi allowed), or None when no vehicle is drawn there."""
    rel = np.mod(angles - start, 2 * math.pi)
    mask = (rel < stop - start) & (image[:, :, OCCUPANCY] > 0)
    if not mask.any():
        return None
    return float(image[:, :, SPEED][mask].mean()) * BEV_SPEED_SCALE / 255.0
