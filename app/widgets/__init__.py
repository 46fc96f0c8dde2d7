"""Small reusable widgets: validated input fields."""
