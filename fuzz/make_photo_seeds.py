#!/usr/bin/env python3
"""Seeds of the `photo` fuzz target, made from the product catalogue rather than committed
(photos derived from the data set stay out of the repository): the first photo of four article
types, scaled down and saved by Pillow in every format and variant the decoder takes.

    python3 fuzz/make_photo_seeds.py CATALOGUE_DIR OUT_DIR
"""
import csv
import os
import sys

from PIL import Image

KINDS = {"Tshirts": "tshirt", "Casual Shoes": "shoe", "Handbags": "bag", "Jeans": "jeans"}


def first_photos(catalogue):
    found = {}
    with open(os.path.join(catalogue, "styles.csv"), newline="", encoding="utf-8") as f:
        for row in csv.DictReader(f):
            kind = KINDS.get(row.get("articleType", ""))
            path = os.path.join(catalogue, "images", f"{row.get('id')}.jpg")
            if kind and kind not in found and os.path.isfile(path):
                found[kind] = path
    return found


def main():
    catalogue, out = sys.argv[1], sys.argv[2]
    os.makedirs(out, exist_ok=True)
    photos = first_photos(catalogue)
    small = lambda kind, size: Image.open(photos[kind]).convert("RGB").resize(size)
    if "tshirt" in photos:
        small("tshirt", (84, 112)).save(f"{out}/tshirt-worn.jpg", quality=80)
    if "jeans" in photos:
        small("jeans", (16, 90)).save(f"{out}/jeans-progressive.jpg", progressive=True)
        exif = Image.Exif()
        exif[0x0112] = 6  # orientation: rotated 90 degrees
        small("jeans", (40, 60)).save(f"{out}/jeans-exif-rotated.jpg", exif=exif)
    if "shoe" in photos:
        shoe = small("shoe", (64, 48))
        shoe.save(f"{out}/shoe.png")
        shoe.resize((24, 16)).save(f"{out}/shoe.bmp")
        alpha = shoe.resize((32, 24)).convert("RGBA")
        alpha.putalpha(200)
        alpha.save(f"{out}/shoe-alpha.png")
        alpha.save(f"{out}/shoe-alpha-lossless.webp", lossless=True)
    if "bag" in photos:
        bag = small("bag", (40, 40))
        bag.save(f"{out}/bag-lossy.webp", quality=50)
        bag.resize((32, 32)).convert("P").save(f"{out}/bag.gif")
        gray = bag.resize((20, 20)).convert("L")
        gray.point(lambda v: v * 257).convert("I;16").save(f"{out}/bag-16bit.png")
    print(f"{len(os.listdir(out))} photo seeds in {out}")


if __name__ == "__main__":
    main()
