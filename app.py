"""Contrastive Learning Explorer: ``streamlit run app.py``.

The entry file is a router and picture frame: page config, session defaults, navigation and the
shared sidebar. Each page lives in pages/; caching and session-state keys live in ui.py.
"""

import streamlit as st

import ui

with ui.router():
    st.set_page_config(page_title=ui.t("Contrastive Learning Explorer"), page_icon="🧲", layout="wide")
    ui.init_session()
    ui.inject_css()
    pages = [st.Page(path, title=ui.t(title), icon=icon) for path, (title, icon) in ui.PAGES.items()]
    nav = st.navigation(pages, position="hidden" if ui.presenting() else "sidebar")
    ui.sidebar()
    nav.run()
    ui.umap_warm_up()  # after the first page is drawn: its compiling must not slow that page
