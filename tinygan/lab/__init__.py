"""The GAN lab: watch a GAN learn, layer by layer, in the notebook; and the film of a run.

After GAN Lab (Kahng, Thorat, Chau, Viegas & Wattenberg 2018), with tinygan's own readable
code underneath. It drives a ``GANTrainer`` and draws frames; nothing in the engine, the
layers or the trainer knows it exists.

* ``tinygan.lab.frames``: the layers as plain arrays (D's heat map, G's gradient arrows,
  the noise warp, the 1-D densities with D and D*);
* ``tinygan.lab.view``: drawing them (matplotlib, no pyplot);
* ``tinygan.lab.session``: ``LabSession``, a real trainer behind the buttons;
* ``tinygan.lab.widget``: ``GANLab``, the ipywidgets lab (a static picture without ipywidgets);
* ``tinygan.lab.film``: the film of a run, as a GIF and an offline HTML page.
"""
from tinygan.lab.film import Film, attach_film, log_spaced_steps
from tinygan.lab.session import LabSession, LabSettings

__all__ = ["LabSession", "LabSettings", "Film", "attach_film", "log_spaced_steps", "GANLab"]


def __getattr__(name: str):
    if name == "GANLab":   # imported on demand: ipywidgets is optional
        from tinygan.lab.widget import GANLab
        return GANLab
    raise AttributeError(f"module 'tinygan.lab' has no attribute {name!r}")
