"""The widget API (/w/v1): what embedded widgets may ask and do, with publishable keys."""
