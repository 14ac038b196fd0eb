"""The clients users have, against a running `sluice serve`.

    python clients.py URL MODEL FEATURES.csv EXPECTED.csv

FEATURES.csv holds the rows to predict (extra columns, the target say, are
sent too: the server ignores them). EXPECTED.csv holds what `sluice predict`
answered for the same rows. Every client's answer must equal it exactly:
tritonclient over HTTP (binary tensors, then JSON tensors, one tensor per
column and one 2-D tensor), and MLflow's own scoring-server client (the
default model, the one `sluice serve --model` names). Exits 1 on the first
difference, naming the client.
"""

import sys
from urllib.parse import urlparse

import numpy as np
import pandas as pd
import tritonclient.http as httpclient
from mlflow.pyfunc.scoring_server.client import ScoringServerClient


def fail(message):
    print(f"FAIL: {message}", file=sys.stderr)
    sys.exit(1)


def same(client, got, want):
    got = np.asarray(got)
    want = np.asarray(want)
    if got.shape != want.shape or not np.array_equal(got, want):
        fail(f"{client}: got {got[:5]}... want {want[:5]}...")
    print(f"ok: {client} ({len(want)} rows)")


def main():
    url, model, features_csv, expected_csv = sys.argv[1:5]
    parsed = urlparse(url)
    features = pd.read_csv(features_csv)
    expected = pd.read_csv(expected_csv)

    triton = httpclient.InferenceServerClient(url=parsed.netloc)
    if not triton.is_server_live() or not triton.is_server_ready():
        fail("tritonclient: the server is not live and ready")
    if not triton.is_model_ready(model):
        fail(f"tritonclient: model {model} is not ready")
    metadata = triton.get_model_metadata(model)
    names = [i["name"] for i in metadata["inputs"]]
    kinds = {i["name"]: i["datatype"] for i in metadata["inputs"]}
    outputs = [o["name"] for o in metadata["outputs"]]
    if "prediction" not in outputs:
        fail(f"tritonclient: metadata outputs {outputs} lack prediction")

    numpy_type = {"FP64": np.float64, "INT64": np.int64, "BOOL": np.bool_, "BYTES": np.object_}
    for binary in (True, False):
        inputs = []
        for name in names:
            values = features[name].to_numpy().astype(numpy_type[kinds[name]])
            tensor = httpclient.InferInput(name, [len(values)], kinds[name])
            tensor.set_data_from_numpy(values, binary_data=binary)
            inputs.append(tensor)
        wanted = [httpclient.InferRequestedOutput(o, binary_data=binary) for o in outputs]
        result = triton.infer(model, inputs, outputs=wanted, request_id="req-1")
        if result.get_response()["id"] != "req-1":
            fail("tritonclient: the request id was not echoed")
        for o in outputs:
            same(f"tritonclient binary={binary} {o}", result.as_numpy(o), expected[o].to_numpy())

    if all(kinds[n] == "FP64" for n in names):
        matrix = features[names].to_numpy(dtype=np.float64)
        tensor = httpclient.InferInput("features", list(matrix.shape), "FP64")
        tensor.set_data_from_numpy(matrix)
        result = triton.infer(model, [tensor])
        same("tritonclient 2-D tensor", result.as_numpy("prediction"), expected["prediction"].to_numpy())

    mlflow_client = ScoringServerClient(parsed.hostname, parsed.port)
    mlflow_client.wait_server_ready(timeout=30)
    answer = mlflow_client.invoke(features)
    same("mlflow ScoringServerClient", answer.get_predictions(predictions_format="ndarray"), expected["prediction"].to_numpy())


if __name__ == "__main__":
    main()
