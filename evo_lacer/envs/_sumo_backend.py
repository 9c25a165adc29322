"""Eclipse SUMO ring through libsumo (Flow's design: SUMO moves the vehicles and keeps the
network; the Python driver model sets every vehicle's speed each step with ``setSpeed``).

libsumo runs one simulation per process, so at most one ``SumoRingBackend`` may be running
in a process; vectorized training runs one per subprocess (see ``make_vec_env``).
"""

from __future__ import annotations

import math
import shutil
import subprocess
import tempfile
import weakref
from pathlib import Path
from types import ModuleType
from typing import Any, ClassVar

import numpy as np

from evo_lacer.envs._backend import FloatArray, RingState
from evo_lacer.errors import EnvError, missing_extra

_N_EDGES = 4
#: Speed (m/s) no vehicle can exceed on the ring; sizes the looping routes and speed limits.
_SPEED_CAP = 50.0


def _import_sumo() -> tuple[ModuleType, ModuleType]:
    try:
        import libsumo
    except ImportError as exc:
        raise missing_extra("libsumo", "sumo") from exc
    try:
        import sumolib
    except ImportError as exc:
        raise missing_extra("sumolib", "sumo") from exc
    return libsumo, sumolib


def _ring_xml(length: float) -> tuple[str, str]:
    """Node and edge files of a ring of ``_N_EDGES`` arcs whose lengths sum to ``length``."""
    radius = length / (2 * math.pi)

    def xy(frac: float) -> tuple[float, float]:
        angle = 2 * math.pi * frac
        return radius * math.cos(angle), radius * math.sin(angle)

    def point(frac: float) -> str:
        return "{:.4f},{:.4f}".format(*xy(frac))

    nodes = [
        '<node id="n{}" x="{:.4f}" y="{:.4f}" type="priority"/>'.format(i, *xy(i / _N_EDGES))
        for i in range(_N_EDGES)
    ]
    edges = []
    for i in range(_N_EDGES):
        shape = " ".join(point((i + k / 8) / _N_EDGES) for k in range(9))
        edges.append(
            f'<edge id="e{i}" from="n{i}" to="n{(i + 1) % _N_EDGES}" numLanes="1" '
            f'speed="{_SPEED_CAP}" length="{length / _N_EDGES!r}" shape="{shape}"/>'
        )
    return (
        "<nodes>\n" + "\n".join(nodes) + "\n</nodes>\n",
        "<edges>\n" + "\n".join(edges) + "\n</edges>\n",
    )


class SumoRingBackend:
    """Ring road simulated by SUMO; collisions are not prevented (speed mode 0) but show up
    as negative gaps, exactly as in the NumPy backend."""

    _running: ClassVar[weakref.ref[SumoRingBackend] | None] = None
    """The backend that owns this process's libsumo simulation (libsumo allows one); a weak
    reference, so an env dropped without ``close()`` does not block the process forever."""

    def __init__(self, sim_step: float, vehicle_length: float, episode_seconds: float) -> None:
        self._libsumo, self._sumolib = _import_sumo()
        self._dt = float(sim_step)
        self._vehicle_length = float(vehicle_length)
        self._episode_seconds = float(episode_seconds)
        self._dir: Path | None = None
        self._nets: dict[str, Path] = {}
        self._ids: list[str] = []
        self._offsets: dict[str, float] = {}
        self._length = 0.0
        self._x = np.zeros(0)
        self._v = np.zeros(0)
        self._t0 = 0.0

    def _net_for(self, length: float) -> Path:
        key = f"{length:.6f}"
        if key not in self._nets:
            if self._dir is None:
                self._dir = Path(tempfile.mkdtemp(prefix="evo_lacer_ring_"))
                weakref.finalize(self, shutil.rmtree, self._dir, ignore_errors=True)
            nod, edg = _ring_xml(length)
            stem = self._dir / f"ring_{key}"
            nod_file, edg_file = stem.with_suffix(".nod.xml"), stem.with_suffix(".edg.xml")
            net_file = stem.with_suffix(".net.xml")
            nod_file.write_text(nod)
            edg_file.write_text(edg)
            cmd = [
                self._sumolib.checkBinary("netconvert"), "-n", str(nod_file), "-e",
                str(edg_file), "-o", str(net_file), "--no-internal-links", "true",
                "--no-turnarounds", "true", "--no-warnings", "true",
            ]
            try:
                subprocess.run(cmd, check=True, capture_output=True, text=True)
            except (OSError, subprocess.CalledProcessError) as exc:
                detail = getattr(exc, "stderr", "") or str(exc)
                raise EnvError(
                    f"netconvert could not build the {length} m ring ({detail.strip()}); "
                    "install SUMO with: pip install 'evo-lacer[sumo]'"
                ) from exc
            self._nets[key] = net_file
        return self._nets[key]

    def _owns_simulation(self) -> bool:
        ref = SumoRingBackend._running
        return ref is not None and ref() is self

    def _start(self, net: Path) -> None:
        ref = SumoRingBackend._running
        owner = ref() if ref is not None else None
        if owner is not None and owner is not self:
            raise EnvError(
                "libsumo runs one simulation per process and another SUMO ring env is open "
                "here; close it first, or use make_vec_env(...) to run SUMO envs in subprocesses"
            )
        args = [
            "-n", str(net), "--step-length", repr(self._dt), "--no-step-log", "true",
            "--no-warnings", "true", "--collision.action", "none", "--time-to-teleport", "-1",
            "--xml-validation", "never", "--seed", "0",
        ]
        if owner is self:
            self._libsumo.simulation.load(args)
            return
        if ref is not None:  # its owner was garbage-collected without close()
            self._libsumo.close()
        self._libsumo.start([self._sumolib.checkBinary("sumo"), *args])
        SumoRingBackend._running = weakref.ref(self)

    def reset(
        self, ring_length: float, positions: FloatArray, speeds: FloatArray
    ) -> RingState:
        lib = self._libsumo
        self._start(self._net_for(ring_length))
        self._length = float(ring_length)
        edge_length = ring_length / _N_EDGES
        self._offsets = {f"e{i}": i * edge_length for i in range(_N_EDGES)}
        laps = math.ceil(self._episode_seconds * _SPEED_CAP / ring_length) + 2
        for i in range(_N_EDGES):
            lib.route.add(f"r{i}", [f"e{(i + k) % _N_EDGES}" for k in range(_N_EDGES)] * laps)
        lib.vehicletype.copy("DEFAULT_VEHTYPE", "ring_car")
        lib.vehicletype.setLength("ring_car", self._vehicle_length)
        lib.vehicletype.setMinGap("ring_car", 0.0)
        lib.vehicletype.setMaxSpeed("ring_car", _SPEED_CAP)
        self._ids = [f"v{i}" for i in range(len(positions))]
        for vid, pos, speed in zip(self._ids, positions.tolist(), speeds.tolist()):
            edge = min(int(pos // edge_length), _N_EDGES - 1)
            lib.vehicle.add(
                vid, f"r{edge}", typeID="ring_car", depart="now", departLane="0",
                departPos=repr(pos - edge * edge_length), departSpeed=repr(speed),
            )
        lib.simulationStep()
        if lib.vehicle.getIDCount() != len(self._ids):
            raise EnvError(
                f"SUMO inserted {lib.vehicle.getIDCount()} of {len(self._ids)} vehicles on the "
                f"{ring_length} m ring; lengthen the ring or reduce init_perturbation"
            )
        variables = [lib.constants.VAR_ROAD_ID, lib.constants.VAR_LANEPOSITION,
                     lib.constants.VAR_SPEED]
        for vid in self._ids:
            lib.vehicle.setSpeedMode(vid, 0)
            lib.vehicle.subscribe(vid, variables)
        self._x = np.array(positions, dtype=np.float64)
        self._t0 = float(lib.simulation.getTime())
        return self._read()

    def _read(self) -> RingState:
        lib = self._libsumo
        results: dict[str, Any] = lib.vehicle.getAllSubscriptionResults()
        road, lane_pos, speed = (lib.constants.VAR_ROAD_ID, lib.constants.VAR_LANEPOSITION,
                                 lib.constants.VAR_SPEED)
        try:
            rows = [results[vid] for vid in self._ids]
            ring = np.array([self._offsets[r[road]] + r[lane_pos] for r in rows])
        except KeyError as exc:
            raise EnvError(
                f"vehicle or edge {exc} left the SUMO ring (route exhausted after "
                f"{self._episode_seconds} s); this is a bug in the ring backend"
            ) from exc
        self._v = np.array([r[speed] for r in rows])
        half = 0.5 * self._length  # no vehicle moves half a lap in one step
        self._x = self._x + (np.mod(ring - self._x + half, self._length) - half)
        return RingState(self._x, self._v, float(lib.simulation.getTime()) - self._t0)

    def step(self, accels: FloatArray) -> RingState:
        set_speed = self._libsumo.vehicle.setSpeed
        new_speeds = np.maximum(self._v + accels * self._dt, 0.0).tolist()
        for vid, speed in zip(self._ids, new_speeds):
            set_speed(vid, speed)
        self._libsumo.simulationStep()
        return self._read()

    def close(self) -> None:
        if self._owns_simulation():
            self._libsumo.close()
            SumoRingBackend._running = None
        if self._dir is not None:
            shutil.rmtree(self._dir, ignore_errors=True)
            self._dir = None
            self._nets = {}
