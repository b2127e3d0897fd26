"""Generate one personalised ad from Python: a sample-catalog product in two creative styles.

python examples/generate_one.py
"""

from recgen import Settings, generate_video


def main() -> None:
    settings = Settings(width=360, height=640, duration_s=10)  # small and quick; defaults are 720×1280, 15 s
    for creative in ("calm-luxury", "bold-discount"):
        result = generate_video("5", creative, settings=settings, discount_pct=15)
        last = result.reports[-1]
        print(f"{creative:<14} {result.state.request.dsid}  {last.verdict}  scores={last.scores}")
        print(f"  brief: {result.state.brief.creative_instruction}")
        print(f"  video: {result.final_path}")


if __name__ == "__main__":
    main()
