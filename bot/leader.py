"""Leader election over a coordination.k8s.io/v1 Lease, so two replicas post one alert.

The lease names its holder and when it last renewed; a replica takes it over
only after it expired. Writes carry the lease's resourceVersion, so when two
replicas race the API server accepts one and answers 409 to the other: the
loser simply is not leader this round. Without a configured lease the bot
runs as a single replica and always leads.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from kubernetes.client import CoordinationV1Api, V1Lease, V1LeaseSpec, V1ObjectMeta
from kubernetes.client.exceptions import ApiException

from bot.clock import Clock

log = logging.getLogger(__name__)


class LeaderElector:
    def __init__(
        self,
        api: CoordinationV1Api,
        namespace: str,
        name: str,
        identity: str,
        clock: Clock,
        lease_seconds: int = 15,
    ) -> None:
        self.api = api
        self.namespace = namespace
        self.name = name
        self.identity = identity
        self.clock = clock
        self.lease_seconds = lease_seconds
        self._leading = False

    @property
    def leading(self) -> bool:
        """The outcome of the last attempt (no API call)."""
        return self._leading

    @property
    def renew_interval_seconds(self) -> float:
        """Renew well inside the lease, so a live leader's lease never lapses between check cycles."""
        return max(1.0, self.lease_seconds / 3)

    def try_acquire_or_renew(self) -> bool:
        """Take or keep the lease; False when another live holder has it or the API cannot be asked."""
        try:
            self._leading = self._attempt()
        except ApiException as exc:
            if exc.status != 409:
                log.warning("leader election: lease %s/%s: HTTP %s", self.namespace, self.name, exc.status)
            self._leading = False
        except Exception as exc:  # an unreachable API server: nobody can prove leadership
            log.warning("leader election failed: %s", exc)
            self._leading = False
        return self._leading

    def _attempt(self) -> bool:
        now = self.clock.now()
        try:
            lease: V1Lease = self.api.read_namespaced_lease(self.name, self.namespace)
        except ApiException as exc:
            if exc.status != 404:
                raise
            self.api.create_namespaced_lease(self.namespace, self._new_lease(now))
            log.info("leader election: %s created lease %s/%s", self.identity, self.namespace, self.name)
            return True
        spec = lease.spec or V1LeaseSpec()
        holder = spec.holder_identity or ""
        if holder and holder != self.identity and not self._expired(spec, now):
            return False
        taking_over = holder != self.identity
        spec.holder_identity = self.identity
        spec.lease_duration_seconds = self.lease_seconds
        spec.renew_time = now
        if taking_over:
            spec.acquire_time = now
            spec.lease_transitions = (spec.lease_transitions or 0) + (1 if holder else 0)
        lease.spec = spec
        # The resourceVersion read above travels with the update: a 409 means someone wrote first.
        self.api.replace_namespaced_lease(self.name, self.namespace, lease)
        if taking_over:
            log.info("leader election: %s took over lease from %r", self.identity, holder)
        return True

    def _expired(self, spec: V1LeaseSpec, now: datetime) -> bool:
        renewed = _aware(spec.renew_time or spec.acquire_time)
        if renewed is None:
            return True
        return now >= renewed + timedelta(seconds=spec.lease_duration_seconds or self.lease_seconds)

    def _new_lease(self, now: datetime) -> V1Lease:
        return V1Lease(
            metadata=V1ObjectMeta(name=self.name, namespace=self.namespace),
            spec=V1LeaseSpec(
                holder_identity=self.identity,
                lease_duration_seconds=self.lease_seconds,
                acquire_time=now,
                renew_time=now,
                lease_transitions=0,
            ),
        )


def _aware(moment: datetime | str | None) -> datetime | None:
    if moment is None:
        return None
    if isinstance(moment, str):
        moment = datetime.fromisoformat(moment.replace("Z", "+00:00"))
    if moment.tzinfo is None:
        from datetime import UTC

        moment = moment.replace(tzinfo=UTC)
    return moment
