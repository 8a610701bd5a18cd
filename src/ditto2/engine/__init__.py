"""Inference-time noise optimisation: the shared Adam loop on x_T and the DITTO / DITTO-2 engines."""
from ditto2.engine.engines import DITTO_STEPS, Ditto2Engine, DittoEngine, Engine
from ditto2.engine.optimise import OptimConfig, OptimResult, norm_penalty, optimise_noise

__all__ = ["DITTO_STEPS", "Ditto2Engine", "DittoEngine", "Engine", "OptimConfig", "OptimResult", "norm_penalty",
           "optimise_noise"]
