"""Analyse the faces in one image and print AUs and expression scores.

Usage: python examples/analyze_image.py [IMAGE]   (default: the bundled CREMA-D frame)
"""

import sys
from pathlib import Path

import fau

image = sys.argv[1] if len(sys.argv) > 1 else Path(__file__).parent / "data/cremad_happy.jpg"

with fau.Detector() as det:  # bundled models, nothing downloaded
    faces = det.detect_image(image)

if faces.empty:
    print("no face found")
for _, face in faces.iterrows():
    print(f"face {face.face} at ({face.face_x:.0f}, {face.face_y:.0f}) "
          f"size {face.face_w:.0f}×{face.face_h:.0f}, face score {face.face_score:.2f}")
    print(f"  head pose: pitch {face.pitch:+.1f}°, yaw {face.yaw:+.1f}°, roll {face.roll:+.1f}°")
    print("  AUs (fractions of the inter-ocular distance; AU43, AU45 of the neutral eye "
          "opening):")
    for au in fau.AU_NAMES:
        print(f"    {au:7s} {face[au]:+.3f}")
    print("  how the expression would likely be read (probabilities):")
    for name in sorted(fau.EXPRESSIONS, key=lambda n: -face[n]):
        print(f"    {name:10s} {face[name]:.2f}")
