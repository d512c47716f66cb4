"""Provider metadata, found by Airflow through the ``apache_airflow_provider`` entry point."""

from __future__ import annotations

from typing import Any

from airflow_alignment import __version__

INTEGRATION = "Alignment"


def get_provider_info() -> dict[str, Any]:
    return {
        "package-name": "airflow-alignment",
        "name": "Alignment",
        "description": "AI alignment checks (data expectations, fairness, drift, model quality) "
        "as Airflow tasks, a gate that approves or rejects models, and inspection in the UI.",
        "versions": [__version__],
        "integrations": [
            {
                "integration-name": INTEGRATION,
                "external-doc-url": "https://pypi.org/project/airflow-alignment/",
                "tags": ["software"],
            }
        ],
        "operators": [
            {
                "integration-name": INTEGRATION,
                "python-modules": [
                    "airflow_alignment.operators.expectations",
                    "airflow_alignment.operators.drift",
                    "airflow_alignment.operators.estimated",
                    "airflow_alignment.operators.fairness",
                    "airflow_alignment.operators.performance",
                    "airflow_alignment.operators.bias",
                    "airflow_alignment.operators.gate",
                ],
            }
        ],
        "sensors": [
            {
                "integration-name": INTEGRATION,
                "python-modules": [
                    "airflow_alignment.sensors.expectations",
                    "airflow_alignment.sensors.fairness",
                ],
            }
        ],
        "triggers": [{"integration-name": INTEGRATION, "python-modules": ["airflow_alignment.triggers.alignment"]}],
        "extra-links": ["airflow_alignment.links.AlignmentReportLink"],
        "notifications": ["airflow_alignment.notifications.AlignmentNotifier"],
        "plugins": [
            {"name": "airflow_alignment", "plugin-class": "airflow_alignment.plugin.AlignmentPlugin"},
        ],
        "config": {
            "alignment": {
                "description": "Options for airflow-alignment.",
                "options": {
                    "artifact_store": {
                        "description": "Where results, reports, baselines and the audit log are "
                        "stored: a local folder or an object storage URI such as "
                        "s3://aws_default@bucket/alignment. Empty means $AIRFLOW_HOME/alignment.",
                        "version_added": None,
                        "type": "string",
                        "example": "s3://aws_default@my-bucket/alignment",
                        "default": "",
                    }
                },
            }
        },
    }
