"""
Training on Dask, on a LocalCluster
===================================

``fit`` accepts Dask arrays chunked along rows: each step's gradients are summed per chunk where the chunks
are, and the optimizer updates the parameters on the network's backend. A LocalCluster in this process
(``processes=False``) keeps the example small; ``Client("tcp://scheduler:8786")`` is the same on a cluster.
"""

import dask.array as da
import numpy as np
from distributed import Client, LocalCluster

import bpxp

rng = np.random.default_rng(0)
X_host = rng.normal(size=(4000, 8)).astype(np.float32)
y_host = (X_host[:, :4].sum(axis=1) > 0).astype(np.float32)

with LocalCluster(n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None) as cluster, \
        Client(cluster):
    X, y = da.from_array(X_host, chunks=(1000, 8)), da.from_array(y_host, chunks=1000)
    net = bpxp.MLP([8, 16, 1], hidden="relu", output="sigmoid", random_state=0)
    history = net.fit(X, y, epochs=15, learning_rate=0.05, batch_size=500, random_state=0)
    accuracy = net.score(X, y)  # a float, computed on the workers
print(f"accuracy {accuracy:.3f} after {history.epochs} epochs on {X.numblocks[0]} chunks")
history.plot(title="8-16-1 on Dask: 4 chunks, 2 workers")
