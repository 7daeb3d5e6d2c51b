"""Train the iris classifier the KServe sklearn v2 sample serves.

The KServe sample (docs/samples/v1beta1/sklearn/v2) serves an iris
`svm.SVC(gamma='scale')` saved as `model.joblib`. The dataset ships inside
scikit-learn, so nothing is downloaded.

Usage: python train_iris.py <output dir>
Writes <dir>/model.joblib and <dir>/model-settings.json for `mlserver start`.
"""
import json
import os
import sys

import joblib
from sklearn import datasets, svm


def main() -> None:
    if len(sys.argv) != 2:
        sys.exit("usage: train_iris.py <output dir>")
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    iris = datasets.load_iris()
    clf = svm.SVC(gamma="scale")
    clf.fit(iris.data, iris.target)
    joblib.dump(clf, os.path.join(out, "model.joblib"))
    settings = {
        "name": "sklearn-irisv2",
        "implementation": "mlserver_sklearn.SKLearnModel",
        "parameters": {"uri": "./model.joblib", "version": "v0.1.0"},
    }
    with open(os.path.join(out, "model-settings.json"), "w", encoding="utf-8") as f:
        json.dump(settings, f, indent=2)
        f.write("\n")
    sample = [[6.8, 2.8, 4.8, 1.4], [6.0, 3.4, 4.5, 1.6]]
    print(json.dumps({"model": out, "sample_prediction": clf.predict(sample).tolist()}))


if __name__ == "__main__":
    main()
