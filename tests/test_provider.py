"""The package as Airflow sees it: provider metadata, entry points, plugin, public surface."""

from __future__ import annotations

import importlib
import inspect
import json
from importlib import metadata
from pathlib import Path

import jsonschema

import airflow_alignment.operators as operators
from airflow_alignment.provider import get_provider_info


def test_provider_info_is_valid_and_names_the_distribution():
    import airflow

    schema = json.loads((Path(airflow.__file__).parent / "provider_info.schema.json").read_text())
    info = get_provider_info()
    jsonschema.validate(info, schema)
    assert info["package-name"] == metadata.metadata("airflow-alignment")["Name"]
    assert info["versions"] == [metadata.version("airflow-alignment")]


def test_entry_points_are_registered():
    eps = metadata.entry_points()
    providers = {ep.value for ep in eps.select(group="apache_airflow_provider")}
    plugins = {ep.value for ep in eps.select(group="airflow.plugins")}
    assert "airflow_alignment.provider:get_provider_info" in providers
    assert "airflow_alignment.plugin:AlignmentPlugin" in plugins


def test_every_listed_module_imports_and_every_operator_is_listed():
    info = get_provider_info()
    listed = [m for group in info["operators"] for m in group["python-modules"]]
    listed += [m for group in info["sensors"] for m in group["python-modules"]]
    for name in listed:
        importlib.import_module(name)
    for path in info["extra-links"] + info["notifications"] + [p["plugin-class"] for p in info["plugins"]]:
        module, _, attr = path.rpartition(".")
        assert hasattr(importlib.import_module(module), attr), path
    from airflow.sdk import BaseOperator

    for name in operators.__all__:
        obj = getattr(operators, name)
        if inspect.isclass(obj) and issubclass(obj, BaseOperator) and name != "AlignmentCheckOperator":
            assert obj.__module__ in listed, f"{name} ({obj.__module__}) is not in get_provider_info()"


def test_public_surface():
    assert sorted(operators.__all__) == [
        "AlignmentCheckFailed",
        "AlignmentCheckOperator",
        "AlignmentGateOperator",
        "DataBiasCheckOperator",
        "DriftCheckOperator",
        "EstimatedFairnessOperator",
        "ExpectationsCheckOperator",
        "FairnessCheckOperator",
        "PerformanceCheckOperator",
    ]
    from airflow_alignment.engines import expectations, fairness

    assert callable(expectations.evaluate) and callable(fairness.evaluate)


def test_airflow_finds_the_provider_and_the_plugin():
    from airflow.providers_manager import ProvidersManager

    assert "airflow-alignment" in ProvidersManager().providers
    from airflow import plugins_manager

    names = {getattr(p, "name", None) for p in _plugins(plugins_manager)}
    assert "airflow_alignment" in names
    notifications = ProvidersManager().notification
    assert "airflow_alignment.notifications.AlignmentNotifier" in notifications


def _plugins(plugins_manager):
    for attr in ("get_plugins", "_get_plugins"):
        getter = getattr(plugins_manager, attr, None)
        if callable(getter):
            result = getter()
            return result[0] if isinstance(result, tuple) else result
    plugins_manager.ensure_plugins_loaded()
    return plugins_manager.plugins
