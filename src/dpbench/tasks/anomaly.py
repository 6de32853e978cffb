"""Video anomaly detection task: commands to get the data and to run one (model, seed) job.

Commands (see ``python -m dpbench <command> -h``)::

    anomaly-synth    --root DIR [--seed S] [--train-clips N] [--test-clips N] [--frames T] [--size PX]
    anomaly-download --dataset ucsd|avenue --data-dir DIR [--url URL ...] [--sha256 HEX ...]
    anomaly-prepare  --dataset ucsd_ped1|ucsd_ped2|avenue|synthetic|ucsd_ped2_frames|avenue_frames --data-dir DIR --output PREPARED_DIR [--scale F]
    anomaly-features --dataset NAME --prepared PREPARED_DIR --seed S [--params JSON] [--device auto] --output FEATURES.pt
    anomaly-dictionary --dataset NAME --prepared PREPARED_DIR --seed S [--params JSON] [--features FEATURES.pt] --output DICT.pt
    anomaly-run      --dataset NAME --prepared PREPARED_DIR --model NAME --seed S [--params JSON] [--variant NAME]
                     [--features FEATURES.pt] [--dictionary DICT.pt] [--device auto] --output RESULT.json
                     [--scores-output SCORES.csv]

Pipelines (``params.pipeline``): ``cuboids`` computes its cuboids in each job; ``anomalynet`` and
``lu2013`` read the features file of ``anomaly-features`` (backbone and patch vectors computed once
per dataset, variant and seed, for the dictionary job and every coder). The model ``motion_energy``
(the floor, :mod:`dpbench.anomaly.floor`) reads the prepared clips only. ``--variant`` names the
variant (a named set of parameters of the config's ``anomaly.variants``) in the result's records,
so that the tables give each its own column.

Per-frame scores: ``score`` (raw, smoothed: the primary convention, one global threshold) and
``score_video_norm`` (min-max normalised per test video).
"""

from __future__ import annotations

import argparse
import json
import logging
import time
from pathlib import Path
from typing import Any

from dpbench.io import atomic_path, write_json
from dpbench.params import UserError, parse_params

log = logging.getLogger(__name__)

def _sources(dataset: str) -> list[tuple[str, str, str | None]]:
    from dpbench.anomaly import avenue, ucsd

    if dataset == "ucsd":
        return [(ucsd.URL, ucsd.ARCHIVE_NAME, ucsd.UCSD_ARCHIVE_SHA256_UNPUBLISHED)]
    if dataset == "avenue":
        return [
            (avenue.VIDEO_URL, avenue.VIDEO_ARCHIVE, avenue.AVENUE_VIDEO_SHA256_UNPUBLISHED),
            (avenue.GT_URL, avenue.GT_ARCHIVE, avenue.AVENUE_GT_SHA256_UNPUBLISHED),
        ]
    raise UserError(f"unknown download {dataset!r}: expected ucsd or avenue")


def download_dataset(dataset: str, data_dir: str, urls: list[str] | None = None, sha256s: list[str] | None = None, keep_archive: bool = True) -> Path:
    """Download and extract ``ucsd`` or ``avenue`` into ``data_dir``; return the ``.<dataset>.done`` marker.

    ``urls``/``sha256s`` override the built-in sources (mirrors, tests), one per archive.
    """
    from dpbench.data.archive import download, extract, file_digest

    sources = _sources(dataset)
    if urls:
        if len(urls) != len(sources):
            raise UserError(f"--url given {len(urls)} times; {dataset} needs {len(sources)} archive URL(s)")
        sources = [(u, Path(u.split("?")[0]).name or name, pin) for u, (_, name, pin) in zip(urls, sources)]
    if sha256s:
        if len(sha256s) != len(sources):
            raise UserError(f"--sha256 given {len(sha256s)} times; {dataset} needs {len(sources)}")
        sources = [(u, name, pin) for (u, name, _), pin in zip(sources, sha256s)]
    out = Path(data_dir)
    record = {"dataset": dataset, "archives": []}
    for url, name, pin in sources:
        archive = download(url, out / name, sha256=pin)
        record["archives"].append({"url": url, "file": name, "sha256": file_digest(archive), "pinned": pin is not None})
        created = extract(archive, out, overwrite=True)
        record["archives"][-1]["extracted"] = [p.name for p in created]
        if not keep_archive:
            archive.unlink()
    marker = out / f".{dataset}.done"
    write_json(marker, record)
    return marker


SCORE_COLUMNS = ["clip", "frame", "score", "score_video_norm", "raw_score", "label"]


def _load_job_data(dataset: str, prepared: str, params: dict) -> tuple[Any, dict]:
    """The prepared clips of ``dataset`` and the full parameters; bad names and values are a UserError."""
    from dpbench.anomaly.datasets import DATASETS, load_prepared
    from dpbench.anomaly.scoring import resolve_params

    if dataset not in DATASETS:
        raise UserError(f"unknown anomaly dataset {dataset!r}; known: {', '.join(DATASETS)}")
    try:
        full = resolve_params(params)
    except ValueError as err:
        raise UserError(str(err)) from err
    data = load_prepared(prepared)
    if data.dataset != dataset:
        raise UserError(f"{prepared} holds dataset {data.dataset!r}, not {dataset!r}")
    return data, full


def _features(path: str | None, dataset: str, seed: int, full: dict) -> dict:
    """The features file of an anomalynet or lu2013 job (required there, refused for the cuboids pipeline)."""
    from dpbench.anomaly.coded import load_features

    if full["pipeline"] == "cuboids":
        if path:
            raise UserError("--features is for the anomalynet and lu2013 pipelines; the cuboids pipeline computes its own")
        return {}
    if not path:
        raise UserError(f"pipeline {full['pipeline']!r} reads its vectors from a features file: pass --features (written by anomaly-features)")
    return load_features(path, dataset, seed, full)


def features_job(dataset: str, prepared: str, seed: int, params: dict, device_name: str, output: str) -> None:
    """Compute the features of an anomalynet or lu2013 pipeline once for ``dataset`` and ``seed`` and save them."""
    from dpbench.anomaly import anomalynet, lu2013
    from dpbench.checkpoint import TrainingCheckpoint
    from dpbench.io import save_tensors
    from dpbench.results import params_hash
    from dpbench.runtime import resolve_device, seed_everything

    data, full = _load_job_data(dataset, prepared, params)
    if full["pipeline"] == "cuboids":
        raise UserError("pipeline 'cuboids' has no features stage (its jobs compute their cuboids): set params.pipeline "
                        "to anomalynet or lu2013")
    device = resolve_device(device_name)
    seed_everything(seed, device)
    start = time.perf_counter()
    if full["pipeline"] == "anomalynet":
        from dpbench.anomaly.scoring import feature_params

        checkpoint = TrainingCheckpoint(f"{output}.ckpt", fingerprint=params_hash({"dataset": dataset, "seed": seed,
                                                                                   **feature_params(full)}))
        features = anomalynet.compute_features(data, full, seed, device, checkpoint)
        checkpoint.discard()
    else:
        features = lu2013.compute_features(data, full, seed)
    features["seconds"] = time.perf_counter() - start
    save_tensors(output, features)
    log.info("features of %s (%s), seed %d: %.1f s", dataset, full["pipeline"], seed, features["seconds"])


def dictionary_job(dataset: str, prepared: str, seed: int, params: dict, output: str, features: str | None = None) -> None:
    """Learn the dictionary that every model of ``seed`` shares on ``dataset`` and save it."""
    from dpbench.anomaly.scoring import anomaly_dictionary, dictionary_params
    from dpbench.io import save_tensors

    data, full = _load_job_data(dataset, prepared, params)
    vectors = _features(features, dataset, seed, full)
    start = time.perf_counter()
    if vectors:
        from dpbench.anomaly.coded import dictionary

        D = dictionary(vectors, full, seed)
    else:
        D = anomaly_dictionary(data, full, seed)
    log.info("dictionary of %s, seed %d: %d atoms in %.1f s", dataset, seed, D.shape[1], time.perf_counter() - start)
    save_tensors(output, {"D": D, "dataset": dataset, "seed": seed,
                          "params_json": json.dumps(dictionary_params(full), sort_keys=True),
                          "seconds": time.perf_counter() - start})


def _load_dictionary(path: str, dataset: str, seed: int, full: dict) -> Any:
    """The dictionary saved by :func:`dictionary_job`; one learned for another setting is refused."""
    from dpbench.anomaly.scoring import dictionary_params
    from dpbench.io import load_for_setting

    return load_for_setting(path, dataset, seed, dictionary_params(full), made="learned")["D"]


def run_job(
    dataset: str, prepared: str, model: str, seed: int, params: dict, device_name: str, output: str, scores_output: str | None,
    dictionary: str | None = None, features: str | None = None, variant: str | None = None,
) -> None:
    """Train and score one (dataset, model, seed); training checkpoints to ``OUTPUT.ckpt`` and resumes from it.

    ``dictionary``: the file of :func:`dictionary_job` for this dataset and seed (else learned here);
    ``features``: the file of :func:`features_job` (pipelines anomalynet and lu2013); ``variant``: the
    name of the config's variant, a column of every record (default: the pipeline's name). A
    diverged training is recorded as a failed result (and an empty per-frame score file)."""
    import pandas as pd

    from dpbench.anomaly.coded import run_coded, run_floor
    from dpbench.anomaly.scoring import run_anomaly
    from dpbench.checkpoint import TrainingCheckpoint
    from dpbench.registry import check_model
    from dpbench.results import divergence_recorded, params_hash, write_result
    from dpbench.runtime import resolve_device, run_metadata

    spec = check_model(model, task="anomaly")
    data, full = _load_job_data(dataset, prepared, params)
    floor = spec.family == "detector"
    vectors = {} if floor else _features(features, dataset, seed, full)
    D = _load_dictionary(dictionary, dataset, seed, full) if dictionary and not floor else None
    device = resolve_device(device_name)
    ident = {"task": "anomaly", "dataset": dataset, "model": model, "seed": seed}
    variant = variant or full["pipeline"]

    def write_scores(frames: pd.DataFrame) -> None:
        if scores_output:
            with atomic_path(scores_output) as tmp:
                frames[SCORE_COLUMNS].to_csv(tmp, index=False)

    checkpoint = TrainingCheckpoint(f"{output}.ckpt", fingerprint=params_hash({**ident, "params": full, "device": device.type}))
    with divergence_recorded(output, **ident, params=full, placeholders=lambda: write_scores(pd.DataFrame(columns=SCORE_COLUMNS))):
        start = time.perf_counter()
        if floor:
            result = run_floor(data, full)
        elif vectors:
            result = run_coded(vectors, data.labels, model, full, seed=seed, device=device, checkpoint=checkpoint, dictionary_tensor=D)
        else:
            result = run_anomaly(data, model, full, seed=seed, device=device, checkpoint=checkpoint, dictionary=D)
        wall = time.perf_counter() - start
        meta = run_metadata(device, seed) | {
            "wall_seconds": wall,
            "timings": result.timings,
            "train_losses": result.train_losses,
            **result.info,
        }
        write_scores(result.frames)
        records = [{**r, "variant": variant} for r in result.records()]
        write_result(output, **ident, records=records, params=full, meta=meta)
        log.info("wrote %s (AUC %.4f, EER %.4f, video-norm AUC %.4f, %d steps, %.0f fps, %.1f s)", output, result.metrics["auc"],
                 result.metrics["eer"], result.metrics["auc_video_norm"], result.metrics["steps"], result.metrics["fps"], wall)
    checkpoint.discard()


def _synth(a: argparse.Namespace) -> None:
    from dpbench.anomaly.synthetic_video import generate

    generate(a.root, seed=a.seed, n_train=a.train_clips, n_test=a.test_clips, n_frames=a.frames, size=a.size)


def _prepare(a: argparse.Namespace) -> None:
    from dpbench.anomaly.datasets import prepare

    prepare(a.dataset, a.data_dir, a.output, scale=a.scale)


def _download(a: argparse.Namespace) -> None:
    from dpbench.data.archive import ArchiveError, DownloadError

    try:
        download_dataset(a.dataset, a.data_dir, a.url, a.sha256, keep_archive=not a.remove_archive)
    except (ArchiveError, DownloadError, FileExistsError) as err:
        raise UserError(str(err)) from err


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("anomaly-synth", help="write the synthetic surveillance video set (UCSD layout)")
    p.add_argument("--root", required=True, help="output folder; clips go to ROOT/UCSDsynth/{Train,Test}")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--train-clips", type=int, default=4)
    p.add_argument("--test-clips", type=int, default=4)
    p.add_argument("--frames", type=int, default=40, help="frames per clip")
    p.add_argument("--size", type=int, default=64, help="frame side in pixels")
    p.set_defaults(func=_synth)

    p = sub.add_parser("anomaly-download", help="download and extract UCSD Ped1/Ped2 or CUHK Avenue")
    p.add_argument("--dataset", required=True, choices=["ucsd", "avenue"])
    p.add_argument("--data-dir", required=True, help="folder to download and extract into")
    p.add_argument("--url", action="append", help="override the archive URL (once per archive; avenue: videos then ground truth)")
    p.add_argument("--sha256", action="append", help="pin the archive's SHA-256 (once per archive)")
    p.add_argument("--remove-archive", action="store_true", help="delete the archive after extraction")
    p.set_defaults(func=_download)

    p = sub.add_parser("anomaly-prepare", help="cache a dataset's clips as arrays with frame labels")
    p.add_argument("--dataset", required=True, choices=["ucsd_ped1", "ucsd_ped2", "avenue", "synthetic", "ucsd_ped2_frames", "avenue_frames"])
    p.add_argument("--data-dir", required=True, help="raw data folder (holding UCSD_Anomaly_Dataset.v1p2, UCSDsynth, the Avenue folders, or the frames layout)")
    p.add_argument("--output", required=True, help="cache folder; writes OUTPUT/manifest.json last")
    p.add_argument("--scale", type=float, default=1.0, help="resize factor applied when caching")
    p.set_defaults(func=_prepare)

    p = sub.add_parser("anomaly-features", help="motion fusion, backbone and patch vectors (anomalynet) or Lu et al.'s cuboids "
                       "(lu2013) of every clip, once per dataset and seed")
    p.add_argument("--dataset", required=True)
    p.add_argument("--prepared", required=True, help="folder written by anomaly-prepare")
    p.add_argument("--seed", type=int, required=True)
    p.add_argument("--params", default="{}", help="hyperparameters as a JSON object (as for anomaly-run)")
    p.add_argument("--device", default="auto", help="where the backbone runs")
    p.add_argument("--output", required=True, help="features file (.pt)")
    p.set_defaults(func=lambda a: features_job(a.dataset, a.prepared, a.seed, parse_params(a.params), a.device, a.output))

    p = sub.add_parser("anomaly-dictionary", help="learn the dictionary every model of a seed shares (normal training clips)")
    p.add_argument("--dataset", required=True)
    p.add_argument("--prepared", required=True, help="folder written by anomaly-prepare")
    p.add_argument("--seed", type=int, required=True)
    p.add_argument("--params", default="{}", help="hyperparameters as a JSON object (as for anomaly-run)")
    p.add_argument("--features", help="features file of anomaly-features (pipelines anomalynet and lu2013)")
    p.add_argument("--output", required=True, help="dictionary file (.pt)")
    p.set_defaults(func=lambda a: dictionary_job(a.dataset, a.prepared, a.seed, parse_params(a.params), a.output, a.features))

    p = sub.add_parser("anomaly-run", help="train a sparse coder on normal clips and score the test frames")
    p.add_argument("--dataset", required=True)
    p.add_argument("--prepared", required=True, help="folder written by anomaly-prepare")
    p.add_argument("--model", required=True)
    p.add_argument("--seed", type=int, required=True)
    p.add_argument("--params", default="{}", help="hyperparameters as a JSON object (see dpbench.anomaly.scoring.DEFAULT_PARAMS)")
    p.add_argument("--device", default="auto")
    p.add_argument("--output", required=True, help="result JSON (records auc, eer, fps)")
    p.add_argument("--scores-output", help="CSV of per-frame scores: clip,frame,score,score_video_norm,raw_score,label")
    p.add_argument("--dictionary", help="file of anomaly-dictionary for this dataset and seed (default: learn it here)")
    p.add_argument("--features", help="file of anomaly-features for this dataset and seed (pipelines anomalynet and lu2013)")
    p.add_argument("--variant", help="the config variant's name, a column of the records (default: the pipeline's name)")
    p.set_defaults(func=lambda a: run_job(
        a.dataset, a.prepared, a.model, a.seed, parse_params(a.params), a.device, a.output, a.scores_output, a.dictionary,
        a.features, a.variant))


__all__ = ["dictionary_job", "download_dataset", "features_job", "register", "run_job"]
