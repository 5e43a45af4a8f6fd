"""Streamlit glue shared by app.py and the pages, one module per concern.

keys (session-state keys), strings (language), session (working config), server (process-wide resources),
data, runs, background (projection worker), charts, widgets, links (addresses and presentation mode),
frame (router, sidebar), private (the private Streamlit APIs we use). Everything cached lives in these modules
(``st.cache_resource`` for shared read-only objects, ``st.cache_data`` for serialisable results, all bounded).
"""
