"""The words every interface uses for the same things (pages, command line, messages, reports), in one place.

Users read Simplified Chinese; a state or a deadline kind must read the same on the dashboard, in an error
message, in a digest and in the year-end summary.
"""

from __future__ import annotations

STATE_NAMES = {"open": "待办", "submitted": "已报待审", "returned": "退回重办", "accepted": "已销号", "waived": "免报"}
DEADLINE_KIND_NAMES = {"fixed": "固定日期", "ongoing": "持续推进", "periodic": "定期报送", "after_event": "事件触发",
                       "external": "上级确定", "staged": "分阶段"}
NOTICE_KIND_NAMES = {"reminder": "提醒", "chase": "催办", "escalation": "督办通知单", "office": "办公室提示",
                     "digest": "摘要", "summary": "年度总结"}
NOTICE_STATE_NAMES = {"pending": "待发送", "sending": "发送中", "sent": "已发送", "failed": "发送失败"}
JOB_NAMES = {"sweep": "扫描(提醒、催办、督办)", "deliver": "投递通知", "digests": "摘要", "year_end": "年度总结"}
