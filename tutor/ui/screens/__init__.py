"""The app's screens: the catalogue, the lesson, and the small modal dialogs."""
