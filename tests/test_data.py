import gzip
import io
import pickle
import struct
import urllib.error
import zipfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from cl_core import data as data_mod
from cl_core import folders, torchvision_sets
from cl_core.data import DATASETS, DataError, ImageData, available_datasets, load_data
from cl_core.folders import load_folder

CIFAR10_NAMES = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]


def _rng(seed: int = 0) -> np.random.Generator:
    return np.random.default_rng(seed)


# ------------------------------------------------------------------------------ writers of the real file formats


def _dump_py2_style(path: Path, obj: dict) -> None:
    """Pickle as the CIFAR release does: protocol 2 and numpy.core module names (numpy 1.x writer)."""
    raw = pickle.dumps(obj, protocol=2).replace(b"numpy._core.multiarray", b"numpy.core.multiarray")
    path.write_bytes(raw)


def _write_cifar10(root: Path, per_batch: int = 3, n_test: int = 4) -> tuple[np.ndarray, np.ndarray]:
    """Write cifar-10-batches-py/ with tiny batches; returns all images (N, 32, 32, 3) and labels, train first."""
    folder = root / "cifar-10-batches-py"
    folder.mkdir(parents=True)
    n = 5 * per_batch + n_test
    images = _rng(1).integers(0, 256, (n, 32, 32, 3), dtype=np.uint8)
    labels = _rng(2).integers(0, 10, n)
    names = [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]
    starts = [i * per_batch for i in range(5)] + [5 * per_batch]
    stops = starts[1:] + [n]
    for name, a, b in zip(names, starts, stops):
        batch = {
            "batch_label": name,
            "labels": labels[a:b].tolist(),
            "data": images[a:b].transpose(0, 3, 1, 2).reshape(b - a, 3072),  # row = 1024 R, 1024 G, 1024 B
            "filenames": [f"img_{i}.png" for i in range(a, b)],
        }
        _dump_py2_style(folder / name, batch)
    _dump_py2_style(folder / "batches.meta", {"num_cases_per_batch": per_batch, "label_names": CIFAR10_NAMES})
    return images, labels


def _write_idx(path: Path, array: np.ndarray, gz: bool = False) -> None:
    header = struct.pack(">BBBB", 0, 0, 8, array.ndim) + struct.pack(f">{array.ndim}I", *array.shape)
    raw = header + array.astype(np.uint8).tobytes()
    if gz:
        path.with_name(path.name + ".gz").write_bytes(gzip.compress(raw))
    else:
        path.write_bytes(raw)


def _write_mnist(root: Path, folder: str = "MNIST", gz: bool = False) -> dict[str, np.ndarray]:
    raw = root / folder / "raw"
    raw.mkdir(parents=True)
    arrays = {}
    for prefix, n in (("train", 6), ("t10k", 3)):
        arrays[f"{prefix}_x"] = _rng(n).integers(0, 256, (n, 28, 28), dtype=np.uint8)
        arrays[f"{prefix}_y"] = _rng(n + 1).integers(0, 10, n, dtype=np.uint8)
        _write_idx(raw / f"{prefix}-images-idx3-ubyte", arrays[f"{prefix}_x"], gz)
        _write_idx(raw / f"{prefix}-labels-idx1-ubyte", arrays[f"{prefix}_y"], gz)
    return arrays


def _write_stl10(root: Path) -> dict[str, np.ndarray]:
    folder = root / "stl10_binary"
    folder.mkdir(parents=True)
    arrays = {}
    for split, n in (("train", 4), ("test", 2)):
        images = _rng(n).integers(0, 256, (n, 96, 96, 3), dtype=np.uint8)
        (folder / f"{split}_X.bin").write_bytes(images.transpose(0, 3, 2, 1).tobytes())  # column-major per channel
        labels = _rng(n + 1).integers(1, 11, n, dtype=np.uint8)  # 1-based on disk
        (folder / f"{split}_y.bin").write_bytes(labels.tobytes())
        arrays[split] = images
        arrays[f"{split}_y"] = labels
    (folder / "class_names.txt").write_text("airplane\nbird\ncar\ncat\ndeer\ndog\nhorse\nmonkey\nship\ntruck\n")
    return arrays


def _png(colour: tuple[int, int, int], size: tuple[int, int] = (20, 12), fmt: str = "PNG") -> bytes:
    img = Image.new("RGB", size, colour)
    img.putpixel((0, 0), (255 - colour[0], 0, 0))
    buf = io.BytesIO()
    img.save(buf, format=fmt)
    return buf.getvalue()


def _write_folder(root: Path, counts: dict[str, int]) -> Path:
    for i, (cls, n) in enumerate(counts.items()):
        (root / cls).mkdir(parents=True, exist_ok=True)
        for j in range(n):
            fmt, ext = ("JPEG", "jpg") if j == 0 else ("PNG", "png")
            (root / cls / f"{j}.{ext}").write_bytes(_png((40 * i, 10 * j, 200), fmt=fmt))
    return root


def _zip_dir(folder: Path, out: Path, prefix: str = "") -> Path:
    with zipfile.ZipFile(out, "w") as zf:
        for p in sorted(folder.rglob("*")):
            if p.is_file():
                zf.write(p, prefix + p.relative_to(folder).as_posix())
    return out


# ------------------------------------------------------------------------------------------------- built-in sets


def test_digits_is_an_offline_stratified_80_20_split_of_32px_rgb():
    d = load_data("digits")
    assert d.train_images.shape == (1437, 32, 32, 3) and d.test_images.shape == (360, 32, 32, 3)
    assert d.train_images.dtype == np.uint8 and d.train_labels.dtype == np.int64
    assert d.class_names == [str(i) for i in range(10)] and d.num_classes == 10 and d.image_size == 32
    assert d.train_images.min() == 0 and d.train_images.max() >= 250
    assert np.array_equal(d.train_images[..., 0], d.train_images[..., 2])  # greyscale replicated
    assert np.bincount(d.test_labels, minlength=10).min() >= 35  # stratified
    again = load_data("digits", seed=5)  # the split does not depend on the seed
    assert np.array_equal(d.train_images, again.train_images) and np.array_equal(d.test_labels, again.test_labels)
    assert "1,437 train / 360 test" in d.describe()


def test_digits_is_scikit_learns_data_and_split_without_importing_scikit_learn():
    """The app's first page loads digits: it reads sklearn's CSV itself and reproduces train_test_split's draws."""
    import subprocess
    import sys

    code = "import sys; from cl_core.data import load_data; load_data('digits'); print('sklearn' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"

    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    bunch = load_digits()
    images = data_mod.resize_images(
        np.repeat(np.rint(bunch.images * (255 / 16)).astype(np.uint8)[..., None], 3, axis=-1), 32
    )
    xtr, xte, ytr, yte = train_test_split(images, bunch.target, test_size=0.2, stratify=bunch.target, random_state=0)
    d = load_data("digits")
    for ours, theirs in [(d.train_images, xtr), (d.test_images, xte), (d.train_labels, ytr), (d.test_labels, yte)]:
        assert np.array_equal(ours, theirs)
    rng, compared = np.random.default_rng(1), 0  # and on uneven classes with ties, for several seeds and fractions
    for trial in range(60):
        labels = rng.integers(0, int(rng.integers(2, 9)), int(rng.integers(40, 300)))
        for fraction in (0.1, 0.25, 0.33, 0.5):
            if np.bincount(labels).min() < 2 or fraction * len(labels) < labels.max() + 1:
                continue  # cases train_test_split refuses
            theirs = train_test_split(np.arange(len(labels)), test_size=fraction, stratify=labels, random_state=trial)
            ours = data_mod._stratified_split(labels, fraction, random_state=trial)
            assert all(np.array_equal(a, b) for a, b in zip(ours, theirs)), (trial, fraction)
            compared += 1
    assert compared > 150  # 236-237 cases over rng seeds 0-4: >86 to spare


def test_shapes_set_has_distinct_train_and_test_and_honours_image_size():
    d = load_data("shapes")
    assert d.train_images.shape == (10_000, 32, 32, 3) and d.test_images.shape == (2_000, 32, 32, 3)
    assert not np.array_equal(d.train_images[:2000], d.test_images)
    assert d.class_names[:6] == ["circle", "square", "triangle", "star", "cross", "ring"]
    assert load_data("shapes", image_size=16, max_train=50).train_images.shape == (50, 16, 16, 3)


def test_max_train_takes_a_seeded_subset_and_image_size_resizes_both_splits():
    a = load_data("digits", max_train=100, image_size=16, seed=1)
    b = load_data("digits", max_train=100, image_size=16, seed=1)
    c = load_data("digits", max_train=100, image_size=16, seed=2)
    assert a.train_images.shape == (100, 16, 16, 3) and a.test_images.shape == (360, 16, 16, 3)
    assert a.train_labels.shape == (100,)
    assert np.array_equal(a.train_images, b.train_images) and not np.array_equal(a.train_labels, c.train_labels)


def test_unknown_name_lists_the_known_ones():
    with pytest.raises(DataError, match="digits, shapes, cifar10, cifar100, mnist, fashion_mnist, stl10"):
        load_data("imagenet")
    assert list(DATASETS) == ["digits", "shapes", "cifar10", "cifar100", "mnist", "fashion_mnist", "stl10"]


def test_image_data_rejects_wrong_dtype_or_label_count():
    ok = np.zeros((2, 4, 4, 3), np.uint8)
    with pytest.raises(DataError, match="uint8"):
        ImageData("x", ok.astype(np.float32), None, ok, None, [])
    with pytest.raises(DataError, match="labels"):
        ImageData("x", ok, np.zeros(3, np.int64), ok, None, [])


# ------------------------------------------------------------------------------------------ torchvision formats


def test_cifar10_python_batches_are_read_as_nhwc(tmp_path):
    images, labels = _write_cifar10(tmp_path)
    d = load_data("cifar10", root=tmp_path, download=False)
    assert np.array_equal(d.train_images, images[:15]) and np.array_equal(d.test_images, images[15:])
    assert np.array_equal(d.train_labels, labels[:15]) and d.test_labels.dtype == np.int64
    assert d.class_names == CIFAR10_NAMES


def test_cifar10_matches_torchvisions_reader(tmp_path, monkeypatch):
    tvd = pytest.importorskip("torchvision.datasets")
    _write_cifar10(tmp_path)
    monkeypatch.setattr(tvd.CIFAR10, "_check_integrity", lambda self: True)  # md5s are those of the full release
    monkeypatch.setattr(tvd.cifar, "check_integrity", lambda *a, **k: True)
    ref = tvd.CIFAR10(str(tmp_path), train=False)
    d = load_data("cifar10", root=tmp_path, download=False)
    assert np.array_equal(d.test_images, ref.data) and d.test_labels.tolist() == ref.targets
    assert d.class_names == ref.classes


def test_cifar100_reads_fine_labels_and_bytes_keys(tmp_path):
    folder = tmp_path / "cifar-100-python"
    folder.mkdir()
    images = _rng(3).integers(0, 256, (5, 32, 32, 3), dtype=np.uint8)
    for name, sl in (("train", slice(0, 3)), ("test", slice(3, 5))):
        batch = {
            b"data": images[sl].transpose(0, 3, 1, 2).reshape(-1, 3072),
            b"fine_labels": [99, 0, 7][: sl.stop - sl.start],
        }
        batch[b"coarse_labels"] = [0] * len(batch[b"fine_labels"])
        _dump_py2_style(folder / name, batch)
    _dump_py2_style(folder / "meta", {b"fine_label_names": [f"c{i}".encode() for i in range(100)]})
    d = load_data("cifar100", root=tmp_path, download=False)
    assert np.array_equal(d.train_images, images[:3]) and d.train_labels.tolist() == [99, 0, 7]
    assert d.num_classes == 100 and d.class_names[99] == "c99"


def test_a_pickle_that_would_run_code_is_refused(tmp_path):
    _write_cifar10(tmp_path)
    marker = tmp_path / "pwned"

    class Evil:
        def __reduce__(self):
            return (open, (str(marker), "w"))

    (tmp_path / "cifar-10-batches-py" / "test_batch").write_bytes(pickle.dumps({"data": Evil()}, protocol=2))
    with pytest.raises(DataError, match="test_batch"):
        load_data("cifar10", root=tmp_path, download=False)
    assert not marker.exists()


def test_mnist_idx_files_become_three_channel_images(tmp_path):
    arrays = _write_mnist(tmp_path)
    d = load_data("mnist", root=tmp_path, download=False)
    assert d.train_images.shape == (6, 28, 28, 3) and d.test_images.shape == (3, 28, 28, 3)
    for c in range(3):
        assert np.array_equal(d.train_images[..., c], arrays["train_x"])
    assert np.array_equal(d.test_labels, arrays["t10k_y"]) and d.test_labels.dtype == np.int64


def test_mnist_matches_torchvisions_idx_reader(tmp_path):
    mnist = pytest.importorskip("torchvision.datasets.mnist")
    _write_mnist(tmp_path)
    d = load_data("mnist", root=tmp_path, download=False)
    raw = tmp_path / "MNIST" / "raw"
    assert np.array_equal(d.train_images[..., 0], mnist.read_image_file(str(raw / "train-images-idx3-ubyte")).numpy())
    assert np.array_equal(d.train_labels, mnist.read_label_file(str(raw / "train-labels-idx1-ubyte")).numpy())


def test_fashion_mnist_reads_the_downloaded_gz_files(tmp_path):
    arrays = _write_mnist(tmp_path, "FashionMNIST", gz=True)
    d = load_data("fashion_mnist", root=tmp_path, download=False)
    assert np.array_equal(d.test_images[..., 1], arrays["t10k_x"])
    assert d.class_names[0] == "T-shirt/top" and d.num_classes == 10


def test_truncated_idx_file_raises(tmp_path):
    _write_mnist(tmp_path)
    path = tmp_path / "MNIST" / "raw" / "t10k-images-idx3-ubyte"
    path.write_bytes(path.read_bytes()[:-10])
    with pytest.raises(DataError, match="truncated"):
        load_data("mnist", root=tmp_path, download=False)


def test_stl10_column_major_binaries_are_read_upright(tmp_path):
    arrays = _write_stl10(tmp_path)
    d = load_data("stl10", root=tmp_path, download=False)
    assert np.array_equal(d.train_images, arrays["train"]) and np.array_equal(d.test_images, arrays["test"])
    assert np.array_equal(d.train_labels, arrays["train_y"].astype(np.int64) - 1)
    assert d.class_names[2] == "car"


def test_stl10_matches_torchvisions_reader(tmp_path):
    tvd = pytest.importorskip("torchvision.datasets")
    _write_stl10(tmp_path)
    ref = object.__new__(tvd.STL10)  # skip __init__: its md5 check is for the full 2.6 GB release
    ref.root = str(tmp_path)
    images, labels = ref._STL10__loadfile("train_X.bin", "train_y.bin")  # (N, 3, 96, 96)
    d = load_data("stl10", root=tmp_path, download=False)
    assert np.array_equal(d.train_images, images.transpose(0, 2, 3, 1)) and np.array_equal(d.train_labels, labels)


@pytest.mark.parametrize(
    ("name", "folder"),
    [("cifar10", "cifar-10-batches-py"), ("cifar100", "cifar-100-python"), ("mnist", "MNIST/raw"),
     ("fashion_mnist", "FashionMNIST/raw"), ("stl10", "stl10_binary")],
)  # fmt: skip
def test_missing_set_without_download_names_its_folder(tmp_path, name, folder):
    with pytest.raises(DataError, match="download is off") as err:
        load_data(name, root=tmp_path, download=False)
    assert str(tmp_path / folder) in str(err.value)


def test_failed_download_says_what_to_fetch_and_where(tmp_path, monkeypatch):
    def offline(name, root):
        raise urllib.error.URLError("no route to host")

    monkeypatch.setattr(torchvision_sets, "_download", offline)
    with pytest.raises(DataError, match="could not be downloaded") as err:
        load_data("cifar10", root=tmp_path)
    assert "cifar-10-python.tar.gz" in str(err.value) and str(tmp_path) in str(err.value)


def test_successful_download_is_then_read(tmp_path, monkeypatch):
    monkeypatch.setattr(torchvision_sets, "_download", lambda name, root: _write_cifar10(root))
    assert len(load_data("cifar10", root=tmp_path).test_images) == 4


def test_available_datasets_reports_files_present(tmp_path):
    _write_stl10(tmp_path)
    found = available_datasets(tmp_path)
    assert found == {"digits": True, "shapes": True, "cifar10": False, "cifar100": False, "mnist": False,
                     "fashion_mnist": False, "stl10": True}  # fmt: skip


# --------------------------------------------------------------------------------------------- folders and zips


def test_class_subfolders_give_labels_and_a_stratified_split(tmp_path):
    root = _write_folder(tmp_path / "pics", {"cats": 5, "dogs": 5, "owl": 1})
    d, report = load_folder(root)
    assert d.class_names == ["cats", "dogs", "owl"] and d.image_size == 32
    assert len(d.train_images) == 9 and np.bincount(d.test_labels).tolist() == [1, 1]  # the lone owl stays in train
    assert report.images == 11 and report.classes == 3 and report.message().startswith("11 images in 3 classes")
    again, _ = load_folder(root)
    assert np.array_equal(d.train_images, again.train_images)


def test_train_and_test_subfolders_give_the_split(tmp_path):
    root = tmp_path / "ds"
    _write_folder(root / "train", {"a": 3, "b": 2})
    _write_folder(root / "test", {"b": 2})
    d = load_data(f"folder:{root}", image_size=16)
    assert d.train_images.shape == (5, 16, 16, 3) and d.test_images.shape == (2, 16, 16, 3)
    assert d.class_names == ["a", "b"] and d.test_labels.tolist() == [1, 1]


def test_zip_reads_like_the_folder_even_inside_a_wrapping_folder(tmp_path):
    root = _write_folder(tmp_path / "pics", {"cats": 4, "dogs": 3})
    (root / "README.md").write_text("a zip of one folder, with a readme beside the classes")
    archive = _zip_dir(root, tmp_path / "pics.zip", prefix="pics/")
    from_dir, _ = load_folder(root)
    from_zip, report = load_folder(archive)
    assert from_zip.class_names == ["cats", "dogs"] and np.array_equal(from_dir.train_images, from_zip.train_images)
    assert np.array_equal(from_dir.test_labels, from_zip.test_labels)
    assert (report.images, report.skipped_non_image) == (7, 1)


def test_non_image_and_corrupt_files_are_skipped_and_counted(tmp_path):
    root = _write_folder(tmp_path / "pics", {"a": 3, "b": 3})
    (root / "a" / "notes.txt").write_text("hello")
    (root / "a" / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\nnot really")
    (root / "b" / "cut.png").write_bytes(_png((1, 2, 3))[:40])
    (root / "a" / ".DS_Store").write_bytes(b"\0")
    (root / "stray.png").write_bytes(_png((5, 5, 5)))
    d, report = load_folder(root)
    assert report.images == 6 and report.skipped_non_image == 1 and report.skipped_corrupt == 2
    assert report.skipped_unlabelled == 1 and d.class_names == ["a", "b"]
    assert "skipped 1 not images" in report.message() and "skipped 2 unreadable" in report.message()
    _, zreport = load_folder(_zip_dir(root, tmp_path / "pics.zip"))
    assert (zreport.skipped_non_image, zreport.skipped_corrupt) == (1, 2)


def test_zip_members_leaving_the_folder_or_linking_are_skipped(tmp_path):
    archive = tmp_path / "evil.zip"
    link = zipfile.ZipInfo("a/link.png")
    link.external_attr = 0o120777 << 16
    with zipfile.ZipFile(archive, "w") as zf:
        for name in ("a/1.png", "b/1.png", "../evil.png", "/abs/evil.png", "a/../../evil.png", "C:/evil.png"):
            zf.writestr(name, _png((9, 9, 9)))
        zf.writestr(link, "/etc/passwd")
    assert any(i.filename.startswith("/") for i in zipfile.ZipFile(archive).infolist())  # stored as written
    d, report = load_folder(archive)
    assert report.skipped_unsafe == 5 and report.images == 2 and d.class_names == ["a", "b"]
    assert not (tmp_path.parent / "evil.png").exists()


def test_symlinks_in_a_folder_are_not_followed(tmp_path):
    outside = _write_folder(tmp_path / "outside", {"x": 2})
    root = _write_folder(tmp_path / "pics", {"a": 2})
    (root / "a" / "link.png").symlink_to(outside / "x" / "1.png")
    (root / "linked_dir").symlink_to(outside / "x", target_is_directory=True)
    d, report = load_folder(root)
    assert report.skipped_unsafe == 2 and report.images == 2 and d.class_names == ["a"]


def test_oversized_images_and_archives_are_refused(tmp_path, monkeypatch):
    root = _write_folder(tmp_path / "pics", {"a": 3})
    monkeypatch.setattr(folders, "MAX_IMAGE_PIXELS", 100)  # the test images are 20x12
    with pytest.raises(DataError, match="no usable images") as err:
        load_folder(root)
    assert "unsafe" in str(err.value)
    archive = _zip_dir(root, tmp_path / "pics.zip")
    monkeypatch.setattr(folders, "MAX_ARCHIVE_BYTES", 10)
    with pytest.raises(DataError, match="larger than"):
        load_folder(archive)
    monkeypatch.setattr(folders, "MAX_FILES", 2)
    with pytest.raises(DataError, match="more than 2 files"):
        load_folder(root)


def test_images_without_class_folders_make_an_unlabelled_set(tmp_path):
    root = tmp_path / "flat"
    root.mkdir()
    for i in range(5):
        (root / f"{i}.png").write_bytes(_png((i, i, i)))
    d, report = load_folder(root, image_size=8)
    assert d.train_labels is None and d.test_labels is None and d.class_names == []
    assert (len(d.train_images), len(d.test_images)) == (4, 1) and "unlabelled" in d.describe()


def test_zip_without_images_raises(tmp_path):
    archive = tmp_path / "empty.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("a/readme.txt", "no pictures here")
    with pytest.raises(DataError, match="no usable images.*1 not images"):
        load_folder(archive)


def test_missing_or_wrong_path_raises(tmp_path):
    with pytest.raises(DataError, match="folder not found"):
        load_data(f"folder:{tmp_path / 'nope'}")
    (tmp_path / "file.txt").write_text("x")
    with pytest.raises(DataError, match="neither a folder nor a .zip"):
        load_folder(tmp_path / "file.txt")


def test_a_zip_bomb_is_refused_from_its_declared_size_before_anything_is_inflated(tmp_path, monkeypatch):
    from crafted_zips import TRAVERSAL, malicious_zip

    small = tmp_path / "small.zip"
    small.write_bytes(malicious_zip(chunks=1))  # the same archive with a 16 MiB bomb: under the limits
    with zipfile.ZipFile(small) as zf:
        assert zf.read("pics/red/bomb.png") == bytes(2**24)  # the hand-written member is valid deflate
    d, report = load_folder(small)
    assert (report.skipped_unsafe, report.skipped_corrupt, d.class_names) == (len(TRAVERSAL), 1, ["blue", "red"])
    bomb = tmp_path / "bomb.zip"
    bomb.write_bytes(malicious_zip())  # inflates to 1,040 MiB
    monkeypatch.setattr(zipfile.ZipFile, "read", lambda *a, **k: pytest.fail("a member was inflated"))
    with pytest.raises(DataError, match="more than 50,000 files or 1,024 MB"):
        load_folder(bomb)
    assert not (tmp_path.parent / "evil.png").exists()


def test_nchw_is_the_transpose_and_shares_a_contiguous_arrays_memory():
    import torch

    images = _rng().integers(0, 256, (5, 4, 3, 3), dtype=np.uint8)  # H != W: a swapped axis would show
    x = data_mod.nchw(images)
    assert x.shape == (5, 3, 4, 3) and x.dtype == torch.uint8
    assert np.array_equal(x.numpy(), images.transpose(0, 3, 1, 2))
    images[0, 0, 0, 0] = 7 if images[0, 0, 0, 0] != 7 else 8
    assert x[0, 0, 0, 0] == images[0, 0, 0, 0]  # a view, not a copy
    strided = images[::2]  # not contiguous: copied first, same values
    assert np.array_equal(data_mod.nchw(strided).contiguous().numpy(), strided.transpose(0, 3, 1, 2))
