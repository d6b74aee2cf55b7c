"""The front of the house: pages and loaders that gather several apps.

Home, the study overview and set-up pages, the audit trails, the demo and practice
loaders sit here, on top of the study core (labstudy) and the recording apps (animals,
sessions). Nothing below imports this package; it holds no models.
"""
