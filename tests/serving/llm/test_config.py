"""The routing policy file: prices are required and derived as documented."""

from __future__ import annotations

import pytest

from serving.errors import ConfigError
from serving.llm.config import Price, load_router_config
from serving.settings import DEFAULT_POLICY


def test_default_policy_loads_and_prices_the_local_route():
    policy = load_router_config(DEFAULT_POLICY)
    price_in, price_out = policy.local.price.per_token()
    assert price_out == pytest.approx(0.10 / 3600 / 80)
    assert price_in == pytest.approx(0.10 / 3600 / 800)


def test_per_token_prices_win():
    price = Price(input_cost_per_token=1e-7, output_cost_per_token=2e-7)
    assert price.per_token() == (1e-7, 2e-7)


def test_a_local_route_without_a_price_is_refused(tmp_path):
    path = tmp_path / "policy.yaml"
    path.write_text("local: {timeout_s: 5}\nfallback: {timeout_s: 5}\n")
    with pytest.raises(ConfigError, match=r"local\.price is required"):
        load_router_config(path)


def test_a_zero_price_is_refused(tmp_path):
    path = tmp_path / "policy.yaml"
    path.write_text(
        "local: {price: {input_cost_per_token: 0, output_cost_per_token: 0}}\nfallback: {}\n"
    )
    with pytest.raises(ConfigError, match="greater than 0"):
        load_router_config(path)


def test_a_missing_policy_file_names_the_setting(tmp_path):
    with pytest.raises(ConfigError, match="RAILYARD_ROUTER_CONFIG"):
        load_router_config(tmp_path / "nope.yaml")
