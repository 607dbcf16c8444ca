"""Scenarios: a YAML file sets up a simulated GKE world and scripts its timeline.

A scenario names a cluster (zonal or regional), its node pools (and which
zones' VMs never register as nodes), its workloads, and a timeline of steps
("at 30m, start a control-plane upgrade"). Loading one fills every store of a
``World``; the timeline plays as the simulated clock advances, so a test can
walk through an hour-long incident in milliseconds.

The parts build on one another in one direction: ``scenario_spec`` (the YAML
models and the loaded ``Scenario``), then ``populate`` (fill a world) and
``timeline`` (apply steps), then this module, which loads and hooks the
timeline to the clock. The spec names are re-exported here for callers.
"""

from __future__ import annotations

from sim import workloads
from sim.populate import populate
from sim.scenario_spec import (
    ClusterSpec,
    PoolSpec,
    Scenario,
    ScenarioSpec,
    StepSpec,
    WorkloadSpec,
    available,
    load_spec,
    parse_offset,
)
from sim.timeline import apply_due_steps, start
from sim.world import World

__all__ = [
    "ClusterSpec",
    "PoolSpec",
    "Scenario",
    "ScenarioSpec",
    "StepSpec",
    "WorkloadSpec",
    "available",
    "load",
    "load_spec",
    "parse_offset",
]


def _adopt_project(world: World, project: str) -> None:
    """The scenario names the project; an empty world takes it, so every API agrees on it.

    Without this, a world built with the default project would serve the
    cluster under one project while the scenario's logs and node provider IDs
    name another, and every log query would come back empty.
    """
    if world.project == project:
        return
    if world.google.clusters():
        raise ValueError(
            f"scenario project {project!r} differs from the world's {world.project!r}, which already holds clusters"
        )
    world.project = project
    world.google.project = project


def _scheduled_by_filters(spec: ScenarioSpec) -> bool:
    """Whether placing the workloads needs more than room for CPU (labels, taints, selectors, claims)."""
    return any(p.labels or p.taints for p in spec.node_pools) or any(w.constrained for w in spec.workloads)


def _shape_pools(world: World, spec: ScenarioSpec) -> None:
    """Give each pool's nodes the labels and taints of the pool's config, as GKE does."""
    pools = {p.name: p for p in spec.node_pools if p.labels or p.taints}
    for node in world.kube.items("nodes"):
        pool = pools.get(node["metadata"].get("labels", {}).get("cloud.google.com/gke-nodepool", ""))
        if pool is None:
            continue
        node["metadata"]["labels"].update(pool.labels)
        if pool.taints:
            node.setdefault("spec", {})["taints"] = [
                *node["spec"].get("taints", []), *(workloads.taint_of(t) for t in pool.taints)
            ]
        world.kube.upsert("nodes", node)


def load(world: World, name_or_path: str) -> Scenario:
    """Fill ``world`` from a scenario and hook its timeline to the world's clock.

    Workloads that need more than room for CPU (a pool with labels or taints,
    a pod with a node selector, tolerations or a claim) are placed by the
    scheduler's filters (``sim.workloads``) once the nodes exist.
    """
    spec = load_spec(name_or_path)
    filtered = _scheduled_by_filters(spec)
    with world.lock:
        _adopt_project(world, spec.project)
        scenario = populate(world, spec.model_copy(update={"workloads": []}) if filtered else spec)
        scenario.spec = spec
        if filtered:
            _shape_pools(world, spec)
            for workload in spec.workloads:
                pending = workloads.create(world, spec, workload, world.clock.now())
                if workload.scheduler_message:
                    scenario.held_pending |= {(workload.namespace, name) for name in pending}
    world.clock.on_advance(lambda now: apply_due_steps(scenario, now))
    start(scenario)
    apply_due_steps(scenario, world.clock.now())
    return scenario
