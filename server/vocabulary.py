"""Words stored as codes and shown translated (``_(job.status)`` in templates).

Listing them here puts them in the catalogs; the codes are the users' words in English.
"""

from server.domain.text import N_

WORDS = (
    # request status
    N_("new"), N_("handed_off"), N_("assigned"), N_("in_progress"), N_("resolved"),
    N_("closed"), N_("cancelled"),
    # job status
    N_("offered"), N_("accepted"), N_("en_route"), N_("on_site"), N_("done"),
    N_("escalated"), N_("reassigned"),
    # groups, regions, classification
    N_("remote"), N_("onsite"), N_("urban"), N_("suburban"),
    # device types
    N_("camera"), N_("encoder"), N_("mixer"), N_("audio"), N_("other"),
    # unit status
    N_("rented"), N_("reserve"), N_("in_transit"), N_("in_repair"), N_("retired"),
    # import outcomes (issue 14)
    N_("created"), N_("updated"),
    # roster status, shifts
    N_("draft"), N_("published"), N_("night"), N_("day"),
    # day kinds, swap status, degrees (S8), training kinds (S13, S14)
    N_("workday"), N_("weekend"), N_("holiday"), N_("pending"), N_("approved"), N_("refused"),
    N_("high_school"), N_("associate"), N_("bachelor"), N_("master"), N_("doctorate"),
    N_("onboarding"), N_("exam"), N_("monthly"), N_("drill"), N_("backup"),
    # channels, stream state
    N_("hotline"), N_("wechat"), N_("wecom"), N_("live"), N_("upcoming"), N_("none"),
    # SLA clocks and their states (D5, D7)
    N_("handoff"), N_("first_response"), N_("arrival"), N_("resolution"), N_("follow_up"),
    N_("running"), N_("paused"), N_("warning"), N_("breached"), N_("met"), N_("missed"),
    # job outcomes
    N_("solved"), N_("needs_onsite"), N_("fixed"), N_("swapped"),
)
