"""The polyfit explorer app: `panel serve examples/app.py`."""

import panel as pn

from polyfit_explorer import Explorer

app = Explorer()

if pn.state.served:
    app.servable()
elif __name__ == "__main__":
    app.show()
