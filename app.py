"""Contrastive Learning Explorer: ``streamlit run app.py``.

The entry file is a router and picture frame: page config, session defaults, navigation and the
shared sidebar. Each page lives in app_pages/; caching, session-state keys and the
shared widgets live in the ui package.
"""

import streamlit as st

from ui.frame import init_session, inject_css, router, sidebar
from ui.links import presenting
from ui.server import umap_warm_up
from ui.session import PAGES
from ui.strings import t

with router():
    st.set_page_config(page_title=t("Contrastive Learning Explorer"), page_icon="🧲", layout="wide")
    init_session()
    inject_css()
    pages = [st.Page(path, title=t(title), icon=icon) for path, (title, icon) in PAGES.items()]
    nav = st.navigation(pages, position="hidden" if presenting() else "sidebar")
    sidebar()
    nav.run()
    umap_warm_up()  # after the first page is drawn: its compiling must not slow that page
