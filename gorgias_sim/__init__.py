"""A local simulator of the Gorgias REST API, for tests, the demo and benchmarks of the exporter.

Standard library only, and independent of the rest of the package: it stands in for the real
server, so it must not share the exporter's assumptions.

    with Simulator(SimConfig(tickets=500, rate_limit=False)) as sim:
        requests.get(f"{sim.url}/tickets", auth=(sim.config.email, sim.config.api_key))
"""

from .config import Faults, SimConfig
from .data import ENTITIES, Dataset, make_dataset
from .recorder import RequestRecord
from .records import UNDOCUMENTED_FIELD
from .server import NOPERM_EMAIL, Simulator

__all__ = [
    "ENTITIES",
    "NOPERM_EMAIL",
    "UNDOCUMENTED_FIELD",
    "Dataset",
    "Faults",
    "RequestRecord",
    "SimConfig",
    "Simulator",
    "make_dataset",
]
