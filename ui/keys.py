"""Session-state keys: every key a page or helper keeps in ``st.session_state``, in one place."""

from __future__ import annotations


class K:
    """Session-state keys. Widget keys bound to config fields are ``WIDGET + dotted name``."""

    CFG = "cfg"  # the working Config, edited on Data and Train, used by Start
    RUN = "run_id"  # the current run, picked in the sidebar
    RUNS_DIR = "runs_dir"
    AUG_SEED = "aug_seed"  # generator seed of the augmentation gallery ("Re-draw" bumps it)
    AUG_PRESET = "aug_preset"
    LIVE_STATE = "live_state"  # last state the live panel saw, to refresh the page once a run ends
    COMPARE = "compare_ids"  # run ids Compare shows; other pages set it before switching there
    SWEEP = "sweep_id"  # the sweep Sweeps shows (the last one launched in this session)
    WIDGET = "w."
    LANG = "lang"  # the session's language (see lang)
    LINK = "link.params"  # this page's URL parameters: name -> text, or None for a default (see read_link)
    LINK_READ = "link.read"  # the session's first address has been applied
    CONTROLS = "link.controls"  # the controls this page asked ``shown`` about, for a presentation link
    PRESENT = "link.present"  # presentation mode: the controls to show, or absent
    LINK_WRITTEN = "link.written"  # every parameter this session has put in the address (they are ours)
