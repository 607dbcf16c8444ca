"""Placeholder API application (being written)."""
from aiohttp import web

from sim.world import World


def build_app(world: World) -> web.Application:
    return web.Application()
