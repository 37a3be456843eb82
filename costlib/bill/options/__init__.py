"""Every way of serving a workload, one module per kind.

``managed_api`` (Bedrock on demand), ``provisioned`` (Bedrock provisioned throughput),
``self_hosted`` (a GPU fleet on SageMaker, EKS, ECS or EC2) and ``router`` (a response cache and
a split of the misses among other options). Each module holds the option's params block and a
``price_*`` function that returns its line items for one month.

Each pricer marks what its option pays without requests (``floor_usd`` of a line item):
provisioned model units, a fixed or scheduled fleet's instance-hours (the count it is sized for
stays on), an autoscaled fleet's ``min_instances`` x 730 h (and their disks), ECR images, the
EKS control plane, engineer time. Tokens, cache reads and writes and a router's classifier
scale with use; a router's routes bring their own floors.
"""

from __future__ import annotations

from typing import Annotated, Union

from pydantic import Field

from costlib.bill.lineitems import CATEGORIES, LineItem, OptionOutcome, line_item
from costlib.bill.options.managed import ManagedApiOption, price_managed
from costlib.bill.options.provisioned import ProvisionedOption, price_provisioned
from costlib.bill.options.router import RouterOption, price_router
from costlib.bill.options.self_hosted import SelfHostedOption, price_self_hosted

Option = Annotated[
    Union[ManagedApiOption, ProvisionedOption, SelfHostedOption, RouterOption],
    Field(discriminator="kind"),
]

PRICERS = {
    "managed_api": price_managed,
    "provisioned": price_provisioned,
    "self_hosted": price_self_hosted,
    "router": price_router,
}
KINDS = tuple(PRICERS)

__all__ = [
    "CATEGORIES", "LineItem", "OptionOutcome", "line_item", "Option", "PRICERS",
    "KINDS", "ManagedApiOption", "ProvisionedOption", "SelfHostedOption", "RouterOption",
]
