// Every string of the UI, in English and Vietnamese. t(key, vars) picks the current language.
export const dict = {
  en: {
    'nav.queue': 'Alerts', 'nav.incidents': 'Incidents', 'nav.dashboard': 'Dashboard', 'nav.audit': 'Audit',
    'nav.logout': 'Log out',
    'login.title': 'Sign in to Vigil', 'login.user': 'User name', 'login.password': 'Password', 'login.submit': 'Sign in',
    'login.failed': 'Wrong user name or password.', 'login.limited': 'Too many failed attempts. Try again later.',
    'live.on': 'live', 'live.off': 'offline', 'live.new': '{n} new',
    'q.search': 'Search signature or IP', 'q.status': 'Status', 'q.severity': 'Severity', 'q.tenant': 'Tenant',
    'q.any': 'any', 'q.sort': 'Sort', 'q.newest': 'newest first', 'q.oldest': 'oldest first', 'q.group': 'Group by',
    'q.nogroup': 'no grouping', 'q.apply': 'Apply', 'q.clear': 'Clear',
    'by.signature': 'signature', 'by.src': 'source', 'by.dest': 'destination', 'by.tenant': 'tenant',
    'col.time': 'First seen', 'col.sev': 'Sev', 'col.signature': 'Signature', 'col.src': 'Source', 'col.dest': 'Destination',
    'col.tenant': 'Tenant', 'col.status': 'Status', 'col.assignee': 'Assignee', 'col.level': 'Level', 'col.count': 'Events',
    'col.alerts': 'Alerts', 'col.open': 'Open', 'col.group': 'Group', 'col.latest': 'Latest',
    'st.new': 'new', 'st.acknowledged': 'acknowledged', 'st.in-progress': 'in progress', 'st.closed': 'closed',
    'act.acknowledge': 'Acknowledge', 'act.assign': 'Assign', 'act.assign_me': 'Assign to me', 'act.escalate': 'Escalate',
    'act.close': 'Close', 'act.note': 'Add note', 'act.reopen': 'Reopen', 'act.selected': '{n} selected',
    'act.select_all': 'Select all on page', 'act.title': 'Incident title', 'act.verdict': 'Verdict',
    'act.done': '{action}: {n} updated', 'act.denied': '{n} refused by policy', 'act.incident': 'Incident {id} opened',
    'act.note_text': 'Note', 'act.assignee': 'Assignee',
    'v.true-positive': 'true positive', 'v.false-positive': 'false positive', 'v.benign': 'benign',
    'page.next': 'Next page', 'page.prev': 'Previous page', 'page.first': 'First page', 'page.none': 'No alerts match.',
    'page.scanned': '{n} index entries read', 'page.truncated': 'Search stopped early: narrow the time range.',
    'a.title': 'Alert', 'a.flow': 'Flow', 'a.rule': 'Rule', 'a.norule': 'Rule text not available (no rule file configured for this sid).',
    'a.class': 'Classification', 'a.reasons': 'Why', 'a.events': 'Events', 'a.protocol': 'Protocol records of this flow',
    'a.related': 'Related alerts (same hosts)', 'a.notes': 'Notes', 'a.nonotes': 'No notes yet.', 'a.unmask': 'Unmask PII',
    'a.unmask_reason': 'Reason for unmasking (audited)', 'a.unmasked': 'Unmasked: this view was recorded in the audit log.',
    'a.incident': 'Incident', 'a.verdict': 'Verdict', 'a.back': 'Back to the queue', 'a.none': 'none',
    'a.seen_before': 'seen before: {n} other alerts from these hosts',
    'i.title': 'Incidents', 'i.none': 'No incidents.', 'i.timeline': 'Timeline', 'i.alerts': 'Alerts in this incident',
    'i.created': 'Created', 'i.updated': 'Updated',
    'd.title': 'Dashboard', 'd.range': 'Last', 'd.h24': '24 hours', 'd.d7': '7 days', 'd.d30': '30 days', 'd.all': 'all time',
    'd.mtta': 'Mean time to acknowledge', 'd.mttr': 'Mean time to resolve', 'd.over_time': 'Alerts over time by severity',
    'au.title': 'Audit log', 'au.head': 'Signed tree head', 'au.size': 'Entries', 'au.root': 'Root hash',
    'au.sig_ok': 'signature valid', 'au.sig_bad': 'SIGNATURE INVALID', 'au.object': 'Object (alert/incident id)',
    'au.actor': 'Actor', 'au.query': 'Search', 'au.export': 'Export (JSON lines with proofs)', 'au.verify': 'Verify',
    'au.verified': 'included in the signed tree ✓', 'au.not_verified': 'PROOF FAILED', 'au.consistency': 'Check that the log only grew since size',
    'au.consistent': 'consistent: history was neither edited nor truncated ✓', 'au.inconsistent': 'INCONSISTENT',
    'au.seq': 'Seq', 'au.time': 'Time', 'au.action': 'Action', 'au.decision': 'Decision', 'au.reason': 'Reason',
    'au.forbidden': 'Your role may not read the audit log.',
    'err.generic': 'Something went wrong: {msg}', 'err.notfound': 'Not found (or not visible to you).',
    'help.keys': 'Keys: j/k move · x select · Enter open · a acknowledge · e escalate · c close · / search · 1–4 pages · ? help',
  },
  vi: {
    'nav.queue': 'Cảnh báo', 'nav.incidents': 'Sự cố', 'nav.dashboard': 'Tổng quan', 'nav.audit': 'Kiểm toán',
    'nav.logout': 'Đăng xuất',
    'login.title': 'Đăng nhập Vigil', 'login.user': 'Tên đăng nhập', 'login.password': 'Mật khẩu', 'login.submit': 'Đăng nhập',
    'login.failed': 'Sai tên đăng nhập hoặc mật khẩu.', 'login.limited': 'Quá nhiều lần thử sai. Vui lòng thử lại sau.',
    'live.on': 'trực tiếp', 'live.off': 'mất kết nối', 'live.new': '{n} mới',
    'q.search': 'Tìm theo chữ ký hoặc IP', 'q.status': 'Trạng thái', 'q.severity': 'Mức nghiêm trọng', 'q.tenant': 'Đơn vị',
    'q.any': 'tất cả', 'q.sort': 'Sắp xếp', 'q.newest': 'mới nhất trước', 'q.oldest': 'cũ nhất trước', 'q.group': 'Nhóm theo',
    'q.nogroup': 'không nhóm', 'q.apply': 'Áp dụng', 'q.clear': 'Xóa lọc',
    'by.signature': 'chữ ký', 'by.src': 'nguồn', 'by.dest': 'đích', 'by.tenant': 'đơn vị',
    'col.time': 'Thời điểm đầu', 'col.sev': 'Mức', 'col.signature': 'Chữ ký', 'col.src': 'Nguồn', 'col.dest': 'Đích',
    'col.tenant': 'Đơn vị', 'col.status': 'Trạng thái', 'col.assignee': 'Người xử lý', 'col.level': 'Độ mật', 'col.count': 'Sự kiện',
    'col.alerts': 'Cảnh báo', 'col.open': 'Đang mở', 'col.group': 'Nhóm', 'col.latest': 'Gần nhất',
    'st.new': 'mới', 'st.acknowledged': 'đã tiếp nhận', 'st.in-progress': 'đang xử lý', 'st.closed': 'đã đóng',
    'act.acknowledge': 'Tiếp nhận', 'act.assign': 'Giao việc', 'act.assign_me': 'Giao cho tôi', 'act.escalate': 'Nâng thành sự cố',
    'act.close': 'Đóng', 'act.note': 'Thêm ghi chú', 'act.reopen': 'Mở lại', 'act.selected': 'Đã chọn {n}',
    'act.select_all': 'Chọn cả trang', 'act.title': 'Tiêu đề sự cố', 'act.verdict': 'Kết luận',
    'act.done': '{action}: đã cập nhật {n}', 'act.denied': '{n} bị chính sách từ chối', 'act.incident': 'Đã mở sự cố {id}',
    'act.note_text': 'Ghi chú', 'act.assignee': 'Người xử lý',
    'v.true-positive': 'đúng là tấn công', 'v.false-positive': 'báo động giả', 'v.benign': 'vô hại',
    'page.next': 'Trang sau', 'page.prev': 'Trang trước', 'page.first': 'Trang đầu', 'page.none': 'Không có cảnh báo phù hợp.',
    'page.scanned': 'đã đọc {n} mục chỉ mục', 'page.truncated': 'Tìm kiếm dừng sớm: hãy thu hẹp khoảng thời gian.',
    'a.title': 'Cảnh báo', 'a.flow': 'Luồng', 'a.rule': 'Luật', 'a.norule': 'Không có nội dung luật (chưa cấu hình tệp luật cho sid này).',
    'a.class': 'Phân loại', 'a.reasons': 'Lý do', 'a.events': 'Sự kiện', 'a.protocol': 'Bản ghi giao thức của luồng',
    'a.related': 'Cảnh báo liên quan (cùng máy)', 'a.notes': 'Ghi chú', 'a.nonotes': 'Chưa có ghi chú.', 'a.unmask': 'Hiện dữ liệu cá nhân',
    'a.unmask_reason': 'Lý do hiện dữ liệu (được ghi kiểm toán)', 'a.unmasked': 'Đã hiện dữ liệu: lần xem này đã được ghi vào nhật ký kiểm toán.',
    'a.incident': 'Sự cố', 'a.verdict': 'Kết luận', 'a.back': 'Về hàng đợi', 'a.none': 'không',
    'a.seen_before': 'đã gặp: {n} cảnh báo khác từ các máy này',
    'i.title': 'Sự cố', 'i.none': 'Chưa có sự cố.', 'i.timeline': 'Dòng thời gian', 'i.alerts': 'Cảnh báo trong sự cố',
    'i.created': 'Tạo lúc', 'i.updated': 'Cập nhật',
    'd.title': 'Tổng quan', 'd.range': 'Trong', 'd.h24': '24 giờ', 'd.d7': '7 ngày', 'd.d30': '30 ngày', 'd.all': 'toàn bộ',
    'd.mtta': 'Thời gian tiếp nhận trung bình', 'd.mttr': 'Thời gian xử lý trung bình', 'd.over_time': 'Cảnh báo theo thời gian và mức độ',
    'au.title': 'Nhật ký kiểm toán', 'au.head': 'Gốc cây đã ký', 'au.size': 'Số mục', 'au.root': 'Mã băm gốc',
    'au.sig_ok': 'chữ ký hợp lệ', 'au.sig_bad': 'CHỮ KÝ KHÔNG HỢP LỆ', 'au.object': 'Đối tượng (mã cảnh báo/sự cố)',
    'au.actor': 'Người thực hiện', 'au.query': 'Tìm', 'au.export': 'Xuất (JSON lines kèm bằng chứng)', 'au.verify': 'Kiểm chứng',
    'au.verified': 'có trong cây đã ký ✓', 'au.not_verified': 'BẰNG CHỨNG SAI', 'au.consistency': 'Kiểm tra nhật ký chỉ được nối thêm từ kích thước',
    'au.consistent': 'nhất quán: lịch sử không bị sửa hay cắt bớt ✓', 'au.inconsistent': 'KHÔNG NHẤT QUÁN',
    'au.seq': 'STT', 'au.time': 'Thời gian', 'au.action': 'Hành động', 'au.decision': 'Quyết định', 'au.reason': 'Lý do',
    'au.forbidden': 'Vai trò của bạn không được đọc nhật ký kiểm toán.',
    'err.generic': 'Có lỗi: {msg}', 'err.notfound': 'Không tìm thấy (hoặc bạn không được xem).',
    'help.keys': 'Phím: j/k di chuyển · x chọn · Enter mở · a tiếp nhận · e nâng sự cố · c đóng · / tìm · 1–4 trang · ? trợ giúp',
  },
};

let lang = localStorage.getItem('vigil.lang') || ((navigator.language || 'en').startsWith('vi') ? 'vi' : 'en');

export function getLang() { return lang; }
export function setLang(l) {
  lang = dict[l] ? l : 'en';
  localStorage.setItem('vigil.lang', lang);
  document.documentElement.lang = lang;
}
export function t(key, vars = {}) {
  let s = dict[lang][key] ?? dict.en[key] ?? key;
  for (const [k, v] of Object.entries(vars)) s = s.replaceAll(`{${k}}`, String(v));
  return s;
}
// Static markup: elements with data-i18n get their text from the dictionary.
export function translateStatic(root = document) {
  for (const el of root.querySelectorAll('[data-i18n]')) el.textContent = t(el.dataset.i18n);
}
