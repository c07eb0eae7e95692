"""Every word a person reads for a thing duban names (pages, command line, messages, reports), in one place.

Users read Simplified Chinese; a state, a light or an action must read the same on the dashboard, in an error
message, in the audit trail, in a digest and in the year-end summary. Interfaces take their words from here and
define none of their own (tests/test_architecture.py checks that no other module keeps such a table).
"""

from __future__ import annotations

# ── deliverables ─────────────────────────────────────────────────────────────────────────────────

# The deliverables' states, and the two a status row shows for an obligation not yet dated.
STATE_NAMES = {"open": "待办", "submitted": "已报待审", "returned": "退回重办", "accepted": "已销号", "waived": "免报",
               "awaiting_event": "待事件", "awaiting_date": "待定期限"}
LIGHT_NAMES = {"red": "红", "yellow": "黄", "green": "绿", "grey": "灰"}
LIGHT_ORDER = ("red", "yellow", "grey", "green")  # worst first, as lists show them
DEADLINE_KIND_NAMES = {"fixed": "固定日期", "ongoing": "持续推进", "periodic": "定期报送", "after_event": "事件触发",
                       "external": "上级确定", "staged": "分阶段"}

# ── what people do (the audit trail's actions, and what a refusal says one may not do) ────────────

ACTION_NAMES = {
    "act": "办理",
    "submit": "报送办结",
    "resubmit": "退回后重新报送",
    "note": "添加进展",
    "accept": "审核销号",
    "return": "退回",
    "waive": "免报",
    "extension.request": "申请延期",
    "extension.decide": "审批延期申请",
    "extension.grant": "批准延期",
    "extension.refuse": "不予延期",
    "event.record": "记录外部事件",
    "event.recorded": "记录外部事件",
    "date.set": "设定期限",
    "deliverable.date_set": "设定期限",
    "deliverable.dated": "定期限",
    "deliverable.redated": "改期",
    "deliverable.retired": "撤销",
    "figures": "报送月报数据",
    "figures.correct": "更正月报数据",
    "notice.retry": "重新发送通知",
    "user.added": "添加用户",
    "user.password": "设定密码",
    "user.disabled": "停用用户",
    "sign-in": "登录",
    "sign-in.failed": "登录失败",
    "unit.loaded": "单位载入",
    "obligation.loaded": "任务载入",
    "units.retired": "单位撤销",
    "people.retired": "人员撤销",
    "obligations.retired": "任务撤销",
    "plan.add": "新增工作方案",
    "plan.close": "结束工作方案",
    "plan.closed": "结束工作方案",
    "item.assign": "交办事项",
    "import.upload": "导入方案文件",
    "import.correct": "更正方案草稿",
    "import.discard": "丢弃方案草稿",
    "import.publish": "发布导入的方案",
    "calendar.make": "生成日历订阅地址",
}
# Where an item stands on a unit's workspace (reading.workspace.WHY): its sections and the counts at its top.
WORKSPACE_NAMES = {"overdue": "逾期", "returned": "退回重办", "soon": "两周内到期", "reviewing": "等待审核",
                   "later": "以后到期", "undated": "尚未定期限"}
# A day as pages write it: without its year in the current year (6月30日), else with it (2021年1月10日).
DAY_FORMATS = {"this_year": "{month}月{day}日", "other_year": "{year}年{month}月{day}日"}
PLAN_KIND_NAMES = {"plan": "工作方案", "standing": "交办事项"}
# A plan being imported in the browser (tracking.import_drafts).
IMPORT_STATUS_NAMES = {"draft": "草稿", "published": "已发布", "discarded": "已丢弃"}
# A recurring deadline's period: 每月 / 每季度 (the period units of deadlines.rules).
EVERY_NAMES = {"month": "每月", "quarter": "每季度", "half_year": "每半年", "year": "每年"}
ROLE_NAMES = {"office": "领导小组办公室", "unit": "责任单位", "leader": "领导"}
# What kind of refusal a message is, as its headline says it (by the domain error's class name).
REFUSAL_NAMES = {"NotFound": "未找到", "NotAllowed": "无权进行此操作", "InvalidInput": "输入有误",
                 "IllegalTransition": "当前状态不允许此操作", "StaleDeliverable": "该事项已被他人修改",
                 "StaleDraft": "方案草稿已被他人修改", "Busy": "上一个请求仍在处理中",
                 "DomainError": "请求无法完成"}

# ── the plan ─────────────────────────────────────────────────────────────────────────────────────

UNIT_KIND_NAMES = {"government": "市政府及办公室", "county_government": "县(市、区)政府", "region": "市本级",
                   "department": "市直部门", "mass_organization": "群团组织", "external": "外部机构"}
PLAN_PART_NAMES = {"plan": "方案", "units": "单位", "people": "人员", "events": "事件", "obligations": "任务",
                   "deliverables": "应交事项", "targets": "目标", "calendar": "工作日历"}
CHANGE_NAMES = {"added": "新增", "updated": "更新", "redated": "改期", "retired": "撤销"}

# ── notices, jobs, reports, figures ──────────────────────────────────────────────────────────────

NOTICE_KIND_NAMES = {"reminder": "提醒", "chase": "催办", "escalation": "督办通知单", "office": "办公室提示",
                     "digest": "摘要", "summary": "年度总结", "bulletin": "督查通报"}
NOTICE_STATE_NAMES = {"pending": "待发送", "sending": "发送中", "sent": "已发送", "failed": "发送失败"}
DIGEST_NAMES = {"unit": "单位周报", "office": "办公室日报", "leaders": "领导小组周报"}
JOB_NAMES = {"sweep": "扫描(提醒、催办、督办)", "deliver": "投递通知", "digests": "摘要与月度督查通报",
             "year_end": "年度总结"}
REPORT_FORMAT_NAMES = {"html": "网页(可打印)", "xlsx": "电子表格", "json": "JSON 数据"}
# The bulletin (督查通报): what became of each deliverable of the period, as of its end (reports/bulletin.py).
BULLETIN_OUTCOME_NAMES = {"on_time": "按时报送", "late": "逾期报送", "overdue": "逾期未报送", "returned": "退回重办",
                          "waived": "免报", "not_yet_due": "未到期"}
QUARTER_NAMES = {1: "第一季度", 2: "第二季度", 3: "第三季度", 4: "第四季度"}
# The bulletins the office's reports page offers, by how far back they look.
RECENT_PERIOD_NAMES = {"last_month": "上月", "last_quarter": "上季度", "year_to_date": "今年以来"}
# A region against its targets (序时进度): on pace, behind it, or a monthly report missing.
PROGRESS_NAMES = {"green": "达到序时进度", "yellow": "落后序时进度", "red": "有月报缺报"}

PATH_PROBLEM_NAMES = {  # what is wrong with a path a person gave, by errno name
    "ENOENT": "不存在:请检查路径是否写对",
    "EEXIST": "已存在,且不是所需的文件夹:请换一个路径",
    "ENOTDIR": "路径中有一段不是文件夹:请检查路径是否写对",
    "EISDIR": "是文件夹,不是文件:请写明文件的路径",
    "EACCES": "没有访问权限:请换一个路径,或请系统管理员授权",
    "EPERM": "不允许此操作:请换一个路径,或请系统管理员授权",
    "EROFS": "位于只读的文件系统上:请换一个可写的路径",
    "ENAMETOOLONG": "路径过长:请换一个短一些的路径",
}
