"""What operators and sensors share: the task base (:mod:`.base`: arguments, policy merge,
publishing, baselines, the report link, lineage), publishing (:mod:`.publish`), and the kind
mixins that an operator and a sensor of the same kind share (:mod:`.labelled`,
:mod:`.expectations`)."""

from __future__ import annotations

# Every task reads its data through the source registry; the Spark backend registers itself.
from airflow_alignment.spark import SPARK as _SPARK_BACKEND  # noqa: F401
