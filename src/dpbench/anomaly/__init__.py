"""Video anomaly detection with sparse coding (UCSD Ped1/Ped2, CUHK Avenue, a synthetic video).

* :mod:`dpbench.anomaly.ucsd` -- UCSD layout: ``.m`` ground truth parser, clip reader;
* :mod:`dpbench.anomaly.avenue` -- Avenue ``.mat`` labels and video reader;
* :mod:`dpbench.anomaly.synthetic_video` -- seeded synthetic surveillance clips in the UCSD layout;
* :mod:`dpbench.anomaly.datasets` -- raw folders -> cached per-clip arrays and labels;
* :mod:`dpbench.anomaly.features` -- frame-difference cuboids;
* :mod:`dpbench.anomaly.scoring` -- training, per-frame scores, AUC / EER / FPS.
"""
