"""The pvse-gif web demo (Gradio): `python -m demo`, or `app.py` on a Hugging Face Space."""
