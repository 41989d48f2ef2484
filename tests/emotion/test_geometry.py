"""The crop geometry is measured from data, read from one file, and reproduces FER2013's framing."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest

import config
from emotion.training.calibrate import face_in_frame, measure
from emotion.detector import YuNetDetector, crop_face
from emotion.geometry import CropGeometry, SizePoint, framing_tables, read_geometry, serving_geometry
from emotion.preprocess import normalize_faces


def test_committed_geometry_has_measured_medians_and_spread() -> None:
    g = serving_geometry()
    assert 0.8 < g.scale < 1.6
    assert g.scale_spread is not None and g.roll_deg_spread is not None
    assert g.scale_spread.p2_5 < g.scale < g.scale_spread.p97_5
    assert g.scale_spread.p50 == pytest.approx(g.scale, rel=0.02)  # the spread around each size's median
    assert g.meta["faces_found"] >= 1000
    # Medians per box size, in increasing size, around the overall median.
    sizes = [p.box_px for p in g.by_size]
    assert len(sizes) >= 6 and sizes == sorted(sizes)
    assert min(p.scale for p in g.by_size) < g.scale < max(p.scale for p in g.by_size)
    assert g.framing_at(sizes[0] / 2) == (g.by_size[0].scale, g.by_size[0].offset_y)  # clamped, not extrapolated


def test_size_table_interpolates_and_rejects_disorder(tmp_path: Path) -> None:
    g = CropGeometry(by_size=(SizePoint(50.0, 1.2, -0.04), SizePoint(150.0, 1.0, 0.0)))
    assert g.framing_at(100.0) == pytest.approx((1.1, -0.02))
    assert CropGeometry(scale=1.3, offset_y=0.1).framing_at(80.0) == (1.3, 0.1)
    raw = json.loads(serving_geometry().to_json())
    raw["by_size"] = list(reversed(raw["by_size"]))
    path = tmp_path / "g.json"
    path.write_text(json.dumps(raw))
    with pytest.raises(ValueError, match="increasing"):
        read_geometry(path)


def test_malformed_geometry_file_names_itself(tmp_path: Path) -> None:
    bad = tmp_path / "geometry.json"
    bad.write_text('{"scale": "wide"}')
    with pytest.raises(ValueError, match="geometry.json"):
        read_geometry(bad)
    with pytest.raises(ValueError, match="missing"):
        read_geometry(tmp_path / "absent.json")


def test_geometry_file_round_trips(tmp_path: Path) -> None:
    path = tmp_path / "g.json"
    path.write_text(serving_geometry().to_json())
    assert read_geometry(path) == serving_geometry()


def test_framing_tables_are_centred_on_the_served_crop() -> None:
    tables = framing_tables(serving_geometry())
    # Half the faces appear larger than in FER2013, half smaller; shifts centre on zero.
    assert np.median(tables.zoom) == pytest.approx(1.0, abs=0.02)
    assert abs(np.median(tables.shift_y)) < 0.01
    assert tables.zoom.min() < 0.95 and tables.zoom.max() > 1.05
    assert np.all(np.diff(tables.zoom) >= 0)  # an inverse CDF
    with pytest.raises(ValueError, match="calibrate"):
        framing_tables(CropGeometry(scale=1.1))


def test_size_table_predicts_the_framing_of_faces_it_never_saw(public_test) -> None:
    """PublicTest faces (calibration used Training faces) shown small and large: the committed table's
    scale at each measured box size matches what is measured there."""
    g = serving_geometry()
    for side in (128, 288):
        m = measure(public_test[0][:150], sides=(side, side), seed=1)
        assert len(m["scale"]) >= 60
        predicted, _ = g.framing_at(float(np.median(m["box_px"])))
        assert np.median(m["scale"]) == pytest.approx(predicted, rel=0.05)


def _correlation(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.corrcoef(a.astype(float).ravel(), b.astype(float).ravel())[0, 1])


def test_calibrated_crop_reproduces_the_fer2013_face(public_test) -> None:
    """A FER2013 face shown in a frame and cropped back must look like the original 48x48 image, and
    more so than with a crop 25 % too large or too small (what a hand-picked margin can do)."""
    detector = YuNetDetector()
    rng = np.random.default_rng(7)
    calibrated, too_large, too_small = [], [], []
    g = serving_geometry()
    large = CropGeometry(scale=g.scale * 1.25, offset_y=g.offset_y, level=True)
    small = CropGeometry(scale=g.scale * 0.8, offset_y=g.offset_y, level=True)
    for face in public_test[0][:60]:
        frame, (x, y, side) = face_in_frame(face, 192, rng)
        found = detector.detect(frame)
        if len(found) != 1:
            continue
        gray = cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY)
        original = normalize_faces(face)
        calibrated.append(_correlation(normalize_faces(crop_face(gray, found[0])), original))
        too_large.append(_correlation(normalize_faces(crop_face(gray, found[0], large)), original))
        too_small.append(_correlation(normalize_faces(crop_face(gray, found[0], small)), original))
    assert len(calibrated) >= 40
    # Pixel correlation is strict (a pixel of misalignment costs a lot); 0.66 measured, ~0.5 when mis-scaled.
    assert np.median(calibrated) > 0.6
    assert np.median(calibrated) > max(np.median(too_large), np.median(too_small)) + 0.08


@pytest.mark.needs_shared("fer2013")  # the command reads FER2013 by default
def test_calibrate_command_writes_the_geometry_file(tmp_path: Path) -> None:
    from emotion.training.calibrate import main

    out = tmp_path / "geometry.json"
    assert main(["--count", "40", "--out", str(out)]) == 0
    written = json.loads(out.read_text())
    assert written["meta"]["faces_tried"] == 40 and written["level"] is True
    assert read_geometry(out).scale == pytest.approx(serving_geometry().scale, rel=0.15)
    assert written["meta"]["face_sides_px"] == [64, 440]


def test_calibrate_command_refuses_impossible_face_sizes(capsys) -> None:
    from emotion.training.calibrate import main

    with pytest.raises(SystemExit) as exit_info:
        main(["--sides", "300,100"])
    assert exit_info.value.code == 2
    assert "--sides" in capsys.readouterr().err


def test_config_names_the_committed_geometry_file() -> None:
    assert config.CROP_GEOMETRY_PATH.exists()
