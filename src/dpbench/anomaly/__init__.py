"""Video anomaly detection with sparse coding (UCSD Ped1/Ped2, CUHK Avenue, a synthetic video).

* :mod:`dpbench.anomaly.ucsd` -- UCSD layout: ``.m`` ground truth parser, clip reader;
* :mod:`dpbench.anomaly.avenue` -- Avenue ``.mat`` labels and video reader;
* :mod:`dpbench.anomaly.synthetic_video` -- seeded synthetic surveillance clips in the UCSD layout;
* :mod:`dpbench.anomaly.datasets` -- raw folders -> cached per-clip arrays and labels;
* :mod:`dpbench.anomaly.features` -- frame-difference cuboids;
* :mod:`dpbench.anomaly.scoring` -- training, per-frame scores, AUC / EER / FPS;
* :mod:`dpbench.anomaly.anomalynet` -- AnomalyNet's pipeline (:mod:`~dpbench.anomaly.motion` dynamic images,
  :mod:`~dpbench.anomaly.backbones`, :mod:`~dpbench.anomaly.pooling` 21 patch vectors);
* :mod:`dpbench.anomaly.lu2013` -- Lu et al.'s released pipeline (cuboids of blurred frame differences);
* :mod:`dpbench.anomaly.floor` -- :class:`MotionEnergy`, the detector with no model every coder must beat.
"""

from dpbench.anomaly.floor import MotionEnergy

__all__ = ["MotionEnergy"]
