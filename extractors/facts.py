"""The fact vocabulary: normalised values a scientist compares across tools.

Shared with the baseline-claims data, so values are spelled exactly as here. The tagger refuses
to load a fact rule whose label is not in this vocabulary (a typo would silently create a value
nobody compares against).
"""
from __future__ import annotations

FACT_VOCABULARY: dict[str, tuple[str, ...]] = {
    "storage_backend": ("local", "s3", "azure-blob", "gcs", "google-drive", "hdfs", "ssh", "sftp", "nfs",
                        "http", "webdav", "oss", "minio", "database"),
    "compute_backend": ("aws-batch", "kubernetes", "argo", "airflow", "step-functions", "spark", "databricks",
                        "sagemaker", "azure-ml", "slurm", "pbs", "lsf", "hive", "ray", "dask", "local"),
    "environment": ("conda", "pip", "docker", "virtualenv"),
    "framework": ("pytorch", "tensorflow", "keras", "scikit-learn", "xgboost", "lightgbm", "huggingface",
                  "fastai", "spark-ml", "onnx"),
    "language": ("python", "r", "julia", "java", "scala", "cpp"),
    "ui": ("web-ui", "dashboard", "plots", "cards", "dag-graph", "vscode-extension", "studio"),
    "serving_target": ("rest-api", "docker", "kubernetes", "sagemaker", "azure-ml", "databricks", "pickle"),
    "licence": ("apache-2.0", "mit", "bsd"),
    "pricing": ("free", "paid-tier", "free-tier", "managed-service", "commercial-support"),
    # Capabilities a re-evaluator compares across MLOps tools, named generically (not after one
    # tool's product names): what a claim check counts as notable new evidence of a criterion.
    "feature": ("model-registry", "access-control", "autologging", "system-metrics", "dataset-tracking",
                "live-metrics", "experiment-queue", "run-comparison", "event-triggering", "step-caching",
                "llm-support", "model-evaluation", "experiment-sharing", "ide-integration",
                "cloud-versioning", "resume", "test-suite", "namespaces", "tags", "notebooks", "python-api"),
}


def check_fact_label(category: str, value: str) -> None:
    """Raise ValueError unless (category, value) is in the shared vocabulary."""
    if value not in FACT_VOCABULARY.get(category, ()):
        raise ValueError(f"fact '{category}:{value}' is not in the shared vocabulary "
                         f"(extractors/facts.py FACT_VOCABULARY)")
