"""Build the Online Retail sample shipped in recforge/datasets/data (run once; needs pandas).

    python scripts/make_online_retail_sample.py ../shared/datasets/online-retail/online_retail.csv.gz

Keeps every line (purchases, cancellations, adjustments) of half of the customers, drawn with
seed 0, in the original row order and columns, except Description, which moves to a product
table (StockCode -> its most frequent description) so that it is stored once per product.
Online Retail: UCI Machine Learning Repository, CC BY 4.0 (see data/ATTRIBUTION.md).
"""

import sys
from pathlib import Path

import numpy as np
import pandas as pd

OUT = Path(__file__).resolve().parents[1] / "python" / "recforge" / "datasets" / "data"


def main(source: str) -> None:
    df = pd.read_csv(source, dtype=str, keep_default_na=False)
    customers = np.array(sorted(set(df["CustomerID"]) - {""}))
    chosen = set(np.random.default_rng(0).choice(customers, customers.size // 2, replace=False))
    sample = df[df["CustomerID"].isin(chosen)]
    described = sample[sample["Description"] != ""]
    products = (
        described.groupby(["StockCode", "Description"])
        .size()
        .reset_index(name="n")
        .sort_values(["StockCode", "n", "Description"], ascending=[True, False, True])
        .drop_duplicates("StockCode")[["StockCode", "Description"]]
    )
    sample.drop(columns="Description").to_csv(
        OUT / "online_retail_sample.csv.gz", index=False, compression={"method": "gzip", "compresslevel": 9, "mtime": 0}
    )
    products.to_csv(
        OUT / "online_retail_products.csv.gz",
        index=False,
        compression={"method": "gzip", "compresslevel": 9, "mtime": 0},
    )
    print(f"{len(sample):,} lines of {len(chosen):,} customers; {len(products):,} products")


if __name__ == "__main__":
    main(sys.argv[1])
